/**
 * Our XML Schemas for BANCIWS's four requests and four answers, written from the facts of
 * ANAF's method document (element and attribute names, types, lengths, codes). Each
 * document shares one set of simple types; a request is validated against its schema
 * before it is sent, an answer before it is trusted.
 */

export const BANCIWS_NS = {
  listRequest: 'mfp:anaf:dgti:banci:reqListaMesaje:v1',
  statusRequest: 'mfp:anaf:dgti:banci:reqStareMesaj:v1',
  uploadRequest: 'mfp:anaf:dgti:banci:reqUploadFisier:v1',
  downloadRequest: 'mfp:anaf:dgti:banci:reqDescarcareMesaj:v1',
  listAnswer: 'mfp:anaf:dgti:banci:respListaMesaje:v1',
  statusAnswer: 'mfp:anaf:dgti:banci:respStareMesaj:v1',
  uploadAnswer: 'mfp:anaf:dgti:banci:respUploadFisier:v1',
  downloadAnswer: 'mfp:anaf:dgti:banci:respDescarcareMesaj:v1',
} as const;

export type BanciwsDocument = keyof typeof BANCIWS_NS;

/** Simple types every document may use. */
const SIMPLE_TYPES = `
  <!-- ANAF's identifiers (index_incarcare, id_portal) are N(15): digits only, no sign, no spaces; kept as strings (ids are not numbers). -->
  <xs:simpleType name="Index15"><xs:restriction base="xs:string"><xs:pattern value="[0-9]{1,15}"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="Cui"><xs:restriction base="xs:token"><xs:pattern value="[1-9][0-9]{1,9}"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="Cui10"><xs:restriction base="xs:integer"><xs:minInclusive value="0"/><xs:maxInclusive value="9999999999"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="Zile"><xs:restriction base="xs:string"><xs:maxLength value="5"/><xs:pattern value="[1-9][0-9]{0,2}|([1-9]|1[0-9]|2[0-4])/24"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="Minute12"><xs:restriction base="xs:token"><xs:pattern value="[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])([01][0-9]|2[0-3])[0-5][0-9]"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="Text50"><xs:restriction base="xs:string"><xs:maxLength value="50"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="Text500"><xs:restriction base="xs:string"><xs:maxLength value="500"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="Text4000"><xs:restriction base="xs:string"><xs:maxLength value="4000"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="Base64Document"><xs:restriction base="xs:base64Binary"><xs:minLength value="1"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="ExecutionStatus01"><xs:restriction base="xs:integer"><xs:enumeration value="0"/><xs:enumeration value="1"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="ExecutionStatus04"><xs:restriction base="xs:integer"><xs:minInclusive value="0"/><xs:maxInclusive value="4"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="ErrorCode13"><xs:restriction base="xs:integer"><xs:minInclusive value="1"/><xs:maxInclusive value="3"/></xs:restriction></xs:simpleType>
  <xs:complexType name="ErrorLine"><xs:attribute name="errorMessage" type="Text4000" use="required"/></xs:complexType>`;

function schema(ns: string, header: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="${ns}" xmlns="${ns}" elementFormDefault="qualified" attributeFormDefault="unqualified">
  <xs:element name="header">
    <xs:complexType>${header}
    </xs:complexType>
  </xs:element>${SIMPLE_TYPES}
</xs:schema>
`;
}

const errorsThen = (attributes: string) => `
      <xs:sequence><xs:element name="Errors" type="ErrorLine" minOccurs="0" maxOccurs="unbounded"/></xs:sequence>${attributes}`;

export const BANCIWS_XSD: Record<BanciwsDocument, string> = {
  // listaMesaje: how far back, in days ("3") or hours ("1/24").
  listRequest: schema(
    BANCIWS_NS.listRequest,
    `
      <xs:sequence><xs:element name="listaMesaje"><xs:complexType><xs:attribute name="Zile" type="Zile" use="required"/></xs:complexType></xs:element></xs:sequence>`,
  ),
  // stareMesaj: the upload index (the same number listaMesaje shows as id_portal of the receipt).
  statusRequest: schema(
    BANCIWS_NS.statusRequest,
    `
      <xs:sequence><xs:element name="listaMesaje"><xs:complexType><xs:attribute name="index_incarcare" type="Index15" use="required"/></xs:complexType></xs:element></xs:sequence>`,
  ),
  // uploadMesaj: the signed PDF, base64, any size.
  uploadRequest: schema(
    BANCIWS_NS.uploadRequest,
    `
      <xs:sequence><xs:element name="upload"><xs:complexType><xs:attribute name="fisier" type="Base64Document" use="required"/></xs:complexType></xs:element></xs:sequence>`,
  ),
  // descarcare: the id to download.
  downloadRequest: schema(
    BANCIWS_NS.downloadRequest,
    `
      <xs:attribute name="id_portal" type="Index15" use="required"/>`,
  ),
  listAnswer: schema(
    BANCIWS_NS.listAnswer,
    `
      <xs:sequence>
        <xs:element name="listaMesaje" minOccurs="0" maxOccurs="unbounded">
          <xs:complexType>
            <xs:attribute name="id_portal" type="Index15" use="required"/>
            <xs:attribute name="cui_banca" type="Cui" use="required"/>
            <xs:attribute name="Tip_fisier" type="Text50" use="required"/>
            <xs:attribute name="denumire" type="Text500" use="required"/>
            <xs:attribute name="Index_incarcare" type="Index15"/>
            <xs:attribute name="Data_mesaj" type="Minute12" use="required"/>
          </xs:complexType>
        </xs:element>
      </xs:sequence>
      <xs:attribute name="Mesaj_eroare" type="Text4000"/>`,
  ),
  statusAnswer: schema(
    BANCIWS_NS.statusAnswer,
    errorsThen(`
      <xs:attribute name="Index_incarcare" type="Index15" use="required"/>
      <xs:attribute name="Cui_banca" type="Cui10"/>
      <xs:attribute name="ExecutionStatus" type="ExecutionStatus04" use="required"/>
      <xs:attribute name="Id_portal" type="Index15"/>`),
  ),
  uploadAnswer: schema(
    BANCIWS_NS.uploadAnswer,
    errorsThen(`
      <xs:attribute name="dateResponse" type="Minute12" use="required"/>
      <xs:attribute name="ExecutionStatus" type="ExecutionStatus01" use="required"/>
      <xs:attribute name="index_incarcare" type="Index15"/>`),
  ),
  downloadAnswer: schema(
    BANCIWS_NS.downloadAnswer,
    `
      <xs:sequence><xs:element name="raspuns" minOccurs="0"><xs:complexType><xs:attribute name="errorMessage" type="Base64Document" use="required"/></xs:complexType></xs:element></xs:sequence>
      <xs:attribute name="id_portal" type="Index15" use="required"/>
      <xs:attribute name="Mesaj_eroare" type="ErrorCode13"/>`,
  ),
};
