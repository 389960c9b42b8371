import { describe, expect, it } from 'vitest';
import { parseOwnersFile } from '../../../src/domain/owners-file.js';
import { thrownError } from '../../support/errors.js';

describe('parseOwnersFile', () => {
  it('reads one KEY-PREFIX OWNER DEVICE a line, skipping blank lines and comments', () => {
    expect(
      parseOwnersFile('# from the wiki\n\nXy3k9QbN  alice\toffice-gw   # the gateway\nAb12+/cd bob laptop\n'),
    ).toEqual([
      { keyPrefix: 'Xy3k9QbN', owner: 'alice', device: 'office-gw' },
      { keyPrefix: 'Ab12+/cd', owner: 'bob', device: 'laptop' },
    ]);
  });

  it('names every bad line: field count, bad values, a prefix or a peer name given twice', () => {
    const error = thrownError(() =>
      parseOwnersFile(
        'Xy3k9QbN alice office-gw\nXy3k9QbN bob laptop\nCd34efgh alice office-gw\nonly two\nEf56$(id) carol box\n',
      ),
    );
    expect(error.code).toBe('INPUT_INVALID');
    expect(error.message).toContain('line 2: the key prefix Xy3k9QbN is also on line 1');
    expect(error.message).toContain('line 3: the peer name alice-office-gw is also on line 1');
    expect(error.message).toContain('line 4: expected KEY-PREFIX OWNER DEVICE, found 2 field(s)');
    expect(error.message).toContain('line 5: keyPrefix: key prefixes are');
  });

  it('refuses a file that names no peer', () => {
    expect(thrownError(() => parseOwnersFile('# nothing yet\n')).message).toBe(
      'the owners file names no peer',
    );
  });
});
