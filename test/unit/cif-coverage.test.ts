import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coverageOf } from '../../activities/oauth/cif-coverage';

const j = (v: unknown) => JSON.stringify(v);

test('a listing or ANAF\'s documented "no messages" proves coverage; its refusal does not', () => {
  assert.deepEqual(coverageOf(j({ mesaje: [], serial: 's', cui: '1', titlu: 'Lista Mesaje' })), { covered: true });
  assert.deepEqual(coverageOf(j({ eroare: 'Nu exista mesaje in ultimele 15 zile', titlu: 'Lista Mesaje' })), { covered: true });
  assert.deepEqual(coverageOf(j({ eroare: 'Nu exista mesaje in intervalul selectat', titlu: 'Lista Mesaje' })), { covered: true });
  assert.deepEqual(coverageOf(j({ Errors: [{ errorMessage: 'Nu exista mesaje in ultimele 60 zile' }], ExecutionStatus: 1 })), {
    covered: true,
  });
  const refused = coverageOf(j({ eroare: 'Nu aveti drept in SPV pentru CIF=8000000000', titlu: 'Lista Mesaje' }));
  assert.deepEqual(refused, { covered: false, reason: 'Nu aveti drept in SPV pentru CIF=8000000000' });
  const none = coverageOf(j({ Errors: [{ errorMessage: 'Nu exista niciun CIF petru care sa aveti drept in SPV' }], ExecutionStatus: 1 }));
  assert.equal(none.covered, false);
  assert.equal('inconclusive' in none, false);
});

test('any other answer is inconclusive, never covered', () => {
  for (const text of [
    j({ Errors: [{ errorMessage: 'Numarul de zile trebuie sa fie intre 1 si 60' }], ExecutionStatus: 1 }),
    j({ Errors: [{ errorMessage: 'Nu exista mesaje in ultimele 1 zile' }, { errorMessage: 'altceva' }], ExecutionStatus: 1 }),
    j({ Errors: [{}], ExecutionStatus: 1 }),
    j({ eroare: 'Nu exista mesaje, dar cu alta formulare', titlu: 'Lista Mesaje' }),
    j({ titlu: 'Lista Mesaje' }),
    j({ ExecutionStatus: 0 }),
    '<html>gateway</html>',
    '[]',
  ]) {
    const answer = coverageOf(text);
    assert.equal(answer.covered, false, text);
    assert.equal(!answer.covered && answer.inconclusive, true, text);
  }
});
