/**
 * Writes the generated samples of examples/ (the e-Transport notification and the signed PDF) with
 * the generators the tests use, so the committed files and the tests' documents agree. The e-Factura
 * samples are written by hand (complete CIUS-RO documents). Run: npx tsx examples/generate.ts
 */
import fs from 'node:fs';
import path from 'node:path';
import { testSignedPdf } from '../devkit/fixtures/banciws';
import { transportXml } from '../devkit/fixtures/transport';

const here = __dirname;
// A fixed date the docs replace with today's (docs/etransport.md): ANAF wants a transport not yet over.
fs.writeFileSync(
  path.join(here, 'etransport/notification-v2.xml'),
  transportXml({ declarantCif: '14399840', ref: '2026-000123', date: '2026-12-03' }),
);
fs.writeFileSync(path.join(here, 'banciws/raport-semnat.pdf'), testSignedPdf('Raport F2101 noiembrie 2026'));
