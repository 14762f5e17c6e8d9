import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runState, type SessionStateInput } from './run-state.js';

// The run-state rule of docs/format.md "Run state", row by row, as a pure function: the local
// store and the server both call it (run-state-table.test.ts in packages/integration checks that
// they give it the same inputs for real runs).

const NOW = 1_000_000;
const alive = (clockStart: number): SessionStateInput => ({
  alive: true,
  endState: null,
  clockStart,
  endedAt: null,
});
const dead = (clockStart: number, diedAt: number): SessionStateInput => ({
  alive: false,
  endState: null,
  clockStart,
  endedAt: diedAt,
});
const ended = (
  endState: 'finished' | 'aborted' | 'crashed',
  clockStart: number,
  endedAt: number,
): SessionStateInput => ({ alive: false, endState, clockStart, endedAt });

describe('runState', () => {
  it('no session yet: running for 60 s after creation, then crashed', () => {
    assert.equal(runState([], NOW - 59_999, NOW), 'running');
    assert.equal(runState([], NOW - 60_000, NOW), 'crashed');
  });

  it('any writer alive → running, whatever else happened', () => {
    assert.equal(runState([dead(10, 20), alive(15)], 0, NOW), 'running');
    assert.equal(runState([ended('finished', 10, 20), alive(30)], 0, NOW), 'running');
  });

  it('a dead session that no session started after → crashed', () => {
    assert.equal(runState([dead(10, 20)], 0, NOW), 'crashed');
    // finished, resumed, killed
    assert.equal(runState([ended('finished', 10, 20), dead(30, 40)], 0, NOW), 'crashed');
    // train killed while eval (started before the death) finishes
    assert.equal(runState([dead(10, 50), ended('finished', 30, 90)], 0, NOW), 'crashed');
    // a recorded crash counts as a death too
    assert.equal(runState([ended('crashed', 10, 50), ended('finished', 30, 90)], 0, NOW), 'crashed');
  });

  it('every death followed by a later-started session → the end of the session that ended last', () => {
    // killed, then resumed and finished (the dead session unsettled, e.g. a zombie at the resume)
    assert.equal(runState([dead(10, 20), ended('finished', 21, 30)], 0, NOW), 'finished');
    // settled by the resume at its clock start - 1
    assert.equal(runState([ended('crashed', 10, 20), ended('aborted', 21, 30)], 0, NOW), 'aborted');
    assert.equal(runState([ended('finished', 10, 20), ended('finished', 5, 25)], 0, NOW), 'finished');
    assert.equal(runState([ended('finished', 10, 40), ended('aborted', 5, 25)], 0, NOW), 'finished');
  });

  it('a death at the very clock value a session started at is not "followed"', () => {
    assert.equal(runState([dead(10, 20), ended('finished', 20, 30)], 0, NOW), 'crashed');
  });
});
