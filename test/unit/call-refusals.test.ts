import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { failureForProblem } from '../../activities/anaf/failures';
import { refusalInAnswer, refusalInFailure } from '../../activities/oauth/call-refusals';

test("ANAF's refusal for the CIF in an answer's errors (upload, stareMesaj)", () => {
  assert.equal(
    refusalInAnswer({ accepted: false, errors: ['Nu aveti drept in SPV pentru CIF=1234'] }),
    'Nu aveti drept in SPV pentru CIF=1234',
  );
  assert.equal(
    refusalInAnswer({ state: 'error', errors: ['Nu exista niciun CIF petru care sa aveti drept'] }),
    'Nu exista niciun CIF petru care sa aveti drept',
  );
  for (const other of [
    { accepted: false, errors: ['Fisierul transmis nu este valid.'] },
    { state: 'error', errors: ['Nu aveti dreptul de inteorgare pentru id_incarcare= 18'] },
    { accepted: true, uploadIndex: '5001' },
    Buffer.from('Nu aveti drept in SPV pentru CIF=1234'),
    [],
    null,
  ])
    assert.equal(refusalInAnswer(other), undefined, JSON.stringify(other));
});

test("ANAF's refusal for the CIF in a failure (a listing's eroare, e-Transport's Errors)", () => {
  const listing = failureForProblem(
    { kind: 'ANAF_ERROR', status: 200, message: 'Nu aveti drept in SPV pentru CIF=1234', title: 'Lista Mesaje' },
    { operation: 'e-Factura listaMesajePaginatieFactura', idempotent: true },
  );
  assert.equal(refusalInFailure(listing), 'Nu aveti drept in SPV pentru CIF=1234');
  const etransport = ApplicationFailure.create({
    type: 'AnafError',
    message: 'e-Transport lista: Nu aveti drept in SPV pentru CIF=21; altceva',
  });
  assert.equal(refusalInFailure(etransport), 'Nu aveti drept in SPV pentru CIF=21');
  assert.equal(
    refusalInFailure(ApplicationFailure.create({ message: 'e-Factura descarcare: Nu aveti dreptul sa descarcati acesta factura' })),
    undefined,
  );
  assert.equal(refusalInFailure('Nu aveti drept in SPV pentru CIF=1'), undefined, 'only failures');
});
