import { Context } from '@temporalio/activity';
import type { BlobRef } from '../../lib/storage/blob-store';
import { inspectInvoiceXml } from '../../schemas/efactura-invoice';
import { type AnafApiEnvironment, defaultApiEnvironment, hasApiEnvironments } from '../../lib/anaf/anaf-environments';
import type { EfacturaActivityDeps, EfacturaTarget } from './index';
import { efacturaCalls } from './calls';
import { readAnswerZipOrFail } from './answer-zip';
import { lastDaysWindow } from './listing-window';
import { type InboxCursors, inboxWindowStart, type PreviousInboxSync, previousInboxCursors } from './inbox-window';
import type {
  AnafMessage,
  InvoiceIdentity,
  MessageFilter,
  MessagePage,
  SignatureAnswer,
  ValidationAnswer,
  ValidationStandard,
} from './types';

/**
 * e-Factura reads that are not part of a submission: ANAF's message listing (for the API
 * and the inbox sync), validation and PDF rendering, and downloading a received invoice.
 * They run on the ANAF task queue like every ANAF call, so they spend the same budget.
 */

/** What the inbox keeps of each message ANAF lists for an organization. */
export const INBOX_TYPES = ['FACTURA PRIMITA', 'MESAJ CUMPARATOR PRIMIT'] as const;

export interface ListWindow extends EfacturaTarget {
  startTime: number;
  endTime: number;
  filter?: MessageFilter;
}

/** The API's listing: an explicit window, or the last `days` days counted when ANAF is called (listing-window.ts). */
export type MessagesRequest = EfacturaTarget & { page: number; filter?: MessageFilter } & (
    { startTime: number; endTime: number } | { days: number }
  );

/** A message listed on one environment is downloaded from it: absent (items of older syncs), the global default. */
export interface InboxDownload extends EfacturaTarget {
  message: AnafMessage;
}

/**
 * The inbox sync's listing request. `startTime` and `endTime` are the window syncs started before `resume`
 * computed themselves; with `resume` the start is chosen here, where the environment is known: that
 * environment's own cursor, else `lookbackMs` before `endTime` as a first sync.
 */
export interface InboxListRequest extends ListWindow {
  resume?: { previous?: PreviousInboxSync; lookbackMs: number };
}

/**
 * The inbox's listing and where it was read: ANAF's /test and /prod number their messages apart, so a
 * message id means something only with its environment. `default`: that environment is the global one.
 * `window`: the window listed. `cursors`: the previous sync's cursors by environment, for the sync to carry.
 */
export interface InboxListing {
  messages: AnafMessage[];
  anafEnvironment: AnafApiEnvironment;
  default: boolean;
  window: { startTime: number; endTime: number };
  cursors?: InboxCursors;
}

export interface ReceivedDocument {
  zip: BlobRef;
  /** The invoice (or buyer message) as ANAF holds it. */
  document?: BlobRef;
  signature?: BlobRef;
  identity: InvoiceIdentity;
}

export function createEfacturaReadActivities(deps: EfacturaActivityDeps) {
  const { currentAnaf, currentEnvironment, anafIn, anyAnaf, withToken } = efacturaCalls(deps);
  const defaultEnv = defaultApiEnvironment(deps.config.anaf.apiBaseUrl);
  const oneEnvironment = !hasApiEnvironments(deps.config.anaf.apiBaseUrl);
  const { blobs } = deps;

  async function* pages(input: ListWindow, env: AnafApiEnvironment): AsyncGenerator<MessagePage> {
    const anaf = anafIn(env);
    for (let page = 1; ; page++) {
      const result = await withToken(input, 'e-Factura listaMesajePaginatieFactura', (token) =>
        anaf.listPage(token, {
          cif: input.cif,
          startTime: input.startTime,
          endTime: input.endTime,
          page,
          ...(input.filter ? { filter: input.filter } : {}),
        }),
      );
      yield result;
      if (page >= result.totalPages) return;
    }
  }

  return {
    /** One page of ANAF's paginated listing, typed. */
    async listMessagesPage(input: MessagesRequest): Promise<MessagePage> {
      const anaf = await currentAnaf(input);
      return withToken(input, 'e-Factura listaMesajePaginatieFactura', (token) => {
        // Workflows started before the API passed `days` carry the window it computed.
        const window = 'days' in input ? lastDaysWindow(input.days, Date.now()) : { startTime: input.startTime, endTime: input.endTime };
        return anaf.listPage(token, { cif: input.cif, ...window, page: input.page, ...(input.filter ? { filter: input.filter } : {}) });
      });
    },

    /** Every message of the window the inbox keeps (received invoices, buyer messages), oldest first. */
    async listInboxMessages(input: InboxListRequest): Promise<InboxListing> {
      const env = await currentEnvironment(input);
      const { resume, ...target } = input;
      const cursors = resume ? previousInboxCursors(resume.previous, defaultEnv, env, oneEnvironment) : undefined;
      const window = resume
        ? { startTime: inboxWindowStart(cursors?.[env], resume.lookbackMs, input.endTime, Date.now()), endTime: input.endTime }
        : { startTime: input.startTime, endTime: input.endTime };
      const out: AnafMessage[] = [];
      for await (const page of pages({ ...target, ...window }, env)) {
        Context.current().heartbeat({ page: page.page });
        out.push(...page.messages.filter((m) => (INBOX_TYPES as readonly string[]).includes(m.type)));
      }
      const messages = out.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
      return { messages, anafEnvironment: env, default: env === defaultEnv, window, ...(cursors ? { cursors } : {}) };
    },

    /** Downloads one received message once, from the environment it was listed on; keeps the archive and its documents. */
    async downloadReceived(input: InboxDownload): Promise<ReceivedDocument> {
      const anaf = anafIn(input.anafEnvironment ?? defaultEnv);
      const bytes = await withToken(input, 'e-Factura descarcare', (token) => anaf.download(token, input.message.id));
      const zip = await blobs.put(input.tenant, bytes, 'application/zip');
      const archive = await readAnswerZipOrFail(bytes, `message ${input.message.id}`);
      if (archive.kind !== 'ok') return { zip, identity: {} };
      const inspected = inspectInvoiceXml(
        archive.invoiceXml,
        archive.invoiceXml.includes('CreditNote-2') ? 'CN' : archive.invoiceXml.includes('CrossIndustryInvoice') ? 'CII' : 'UBL',
      );
      return {
        zip,
        document: await blobs.put(input.tenant, archive.invoiceXml, 'application/xml'),
        signature: await blobs.put(input.tenant, archive.signatureXml, 'application/xml'),
        identity: inspected.ok ? inspected.identity : {},
      };
    },

    /**
     * ANAF's verdict on its own signature over an invoice (validaresemnatura), with when it was
     * asked. Throws like any read; the workflows record a failure instead of failing (signature.ts).
     */
    async checkAnswerSignature(
      input: EfacturaTarget & { documentKey: string; signatureKey: string },
    ): Promise<SignatureAnswer & { checkedAt: string }> {
      const [xml, signature] = await Promise.all([blobs.get(input.documentKey), blobs.get(input.signatureKey)]);
      const answer = await withToken(input, 'e-Factura validare semnatura', (token) => anyAnaf.validateSignature(token, xml, signature));
      return { ...answer, checkedAt: new Date().toISOString() };
    },

    async validateInvoice(input: EfacturaTarget & { standard: ValidationStandard; documentKey: string }): Promise<ValidationAnswer> {
      const xml = await blobs.get(input.documentKey);
      return withToken(input, 'e-Factura validare', (token) => anyAnaf.validate(token, input.standard, xml));
    },

    /** ANAF's PDF rendering; the PDF goes to the blob store, the workflow carries its reference. */
    async renderInvoicePdf(
      input: EfacturaTarget & { standard: ValidationStandard; documentKey: string; validate: boolean },
    ): Promise<{ ok: true; pdf: BlobRef } | { ok: false; messages: string[] }> {
      const xml = await blobs.get(input.documentKey);
      const answer = await withToken(input, 'e-Factura transformare', (token) => anyAnaf.toPdf(token, input.standard, xml, input.validate));
      if (!answer.ok) return answer;
      return { ok: true, pdf: await blobs.put(input.tenant, answer.pdf, 'application/pdf') };
    },
  };
}

export type EfacturaReadActivities = ReturnType<typeof createEfacturaReadActivities>;
