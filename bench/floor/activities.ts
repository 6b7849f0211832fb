import { ApplicationFailure } from '@temporalio/common';
import { type BareAnaf, bareDownload, bareSignatureCheck, bareStatus, bareUpload } from '../bare-anaf-calls';

export function floorActivities(anaf: BareAnaf) {
  return {
    floorUpload: (xml: string) => bareUpload(anaf, xml),
    async floorStatus(index: string): Promise<string> {
      const id = await bareStatus(anaf, index);
      // Benign and retried by Temporal, as the product's stareMesaj activity does.
      if (!id) throw ApplicationFailure.create({ type: 'NotReady', message: 'in prelucrare', category: 'BENIGN' });
      return id;
    },
    floorDownload: (downloadId: string) => bareDownload(anaf, downloadId),
    floorSignatureCheck: (xml: string) => bareSignatureCheck(anaf, xml),
  };
}

export type FloorActivities = ReturnType<typeof floorActivities>;
