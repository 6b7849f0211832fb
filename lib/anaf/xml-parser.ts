import { XMLParser } from 'fast-xml-parser';

/**
 * The one way anaf-flow reads XML that comes from outside (ERPs, ANAF): no entity
 * expansion (so no billion laughs or XXE), values kept as text (a CIF or index with
 * leading zeros stays as written), attributes as `@name`.
 */
export function hardenedXmlParser(options: { removeNSPrefix?: boolean; maxDepth?: number } = {}): XMLParser {
  return new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    removeNSPrefix: options.removeNSPrefix ?? true,
    processEntities: false,
    htmlEntities: false,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
    // Deeper nesting throws "Maximum nested tags exceeded" (fast-xml-parser's own default is 100 too).
    maxNestedTags: options.maxDepth ?? 100,
  });
}
