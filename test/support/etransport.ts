import type { Client } from '@temporalio/client';
import { declarationQuery } from '../../workflows/etransport/definitions';
import type { DeclarationView } from '../../workflows/etransport/types';
import { viewWhen } from './temporal';

/** Test declarations (e-Transport schema v2), small and readable. */
export interface TransportSpec {
  declarantCif: string;
  ref: string;
  /** codTipOperatiune; default 30 (national transport). */
  operationType?: string;
  /** yyyy-mm-dd; default today (UTC). */
  date?: string;
  vehicle?: string;
  carrierCif?: string;
  /** Correct the notification of this UIT instead of declaring a new one. */
  correctsUit?: string;
  /** Goes into the goods' name: "SANDBOX:NOK" makes the sandbox reject it. */
  marker?: string;
}

export const today = () => new Date().toISOString().slice(0, 10);

export function transportXml(s: TransportSpec): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<eTransport xmlns="mfp:anaf:dgti:eTransport:declaratie:v2" codDeclarant="${s.declarantCif}" refDeclarant="${s.ref}" declPostAvarie="N">`,
    `  <notificare codTipOperatiune="${s.operationType ?? '30'}">`,
    s.correctsUit ? `    <corectie uit="${s.correctsUit}"/>` : '',
    `    <bunuriTransportate codTarifar="0202" denumireMarfa="Carne${s.marker ? ` ${s.marker}` : ''}" codScopOperatiune="101" cantitate="50.5" codUnitateMasura="KGM" greutateNeta="50" greutateBruta="55" valoareLeiFaraTva="1200"/>`,
    '    <partenerComercial codTara="RO" cod="18547290" denumire="Partener SRL"/>',
    `    <dateTransport nrVehicul="${s.vehicle ?? 'B01ABC'}" codTaraOrgTransport="RO" codOrgTransport="${s.carrierCif ?? s.declarantCif}" denumireOrgTransport="Transport SRL" dataTransport="${s.date ?? today()}"/>`,
    '    <locStartTraseuRutier><locatie codJudet="40" denumireLocalitate="Bucuresti" denumireStrada="Str. Start"/></locStartTraseuRutier>',
    '    <locFinalTraseuRutier><locatie codJudet="12" denumireLocalitate="Cluj-Napoca" denumireStrada="Str. Final"/></locFinalTraseuRutier>',
    `    <documenteTransport tipDocument="30" numarDocument="AVZ-${s.ref}" dataDocument="${s.date ?? today()}"/>`,
    '  </notificare>',
    '</eTransport>',
    '',
  ]
    .filter((l) => l !== '')
    .join('\n');
}

/** The declaration's state once `ready` holds (checked as the workflow moves on; no fixed sleeps). */
export function declarationWhen(client: Client, id: string, ready: (v: DeclarationView) => boolean, timeoutMs = 30_000): Promise<DeclarationView> {
  return viewWhen(client, id, declarationQuery, ready, timeoutMs);
}
