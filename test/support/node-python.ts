import * as fs from 'fs';
import * as path from 'path';

/**
 * What the tests of the node's Python scripts share: which python3 runs them
 * and the realistic node answers they are fed.
 */

/**
 * The system python3 first: the node runs Ubuntu's /usr/bin/python3.
 * CASPER_TEST_PYTHON picks another one, e.g. a Python 3.10 to match Ubuntu 22.04.
 */
export const PYTHON = process.env.CASPER_TEST_PYTHON ?? ['/usr/bin/python3', '/bin/python3'].find((p) => fs.existsSync(p)) ?? 'python3';

/** Realistic Casper node answers and config files (test/fixtures/casper/). */
export const CASPER_FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'casper');

/** `/status` of a casper-node 1.5 mainnet node. */
export const STATUS_15 = fs.readFileSync(path.join(CASPER_FIXTURES, 'status-1.5.json'), 'utf8');

/** `/status` of a casper-node 2.0 testnet node. */
export const STATUS_20 = fs.readFileSync(path.join(CASPER_FIXTURES, 'status-2.0.json'), 'utf8');
