// The shapes moved to schemas/efactura-types.ts, where the API and workflows read them without
// reaching into activity code; activities keep importing them from here.
export * from '../../schemas/efactura-types';
