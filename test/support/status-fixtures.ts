import * as fs from 'fs';
import * as path from 'path';

/** Realistic Casper node answers and config files (test/fixtures/casper/). */
export const CASPER_FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'casper');

/** `/status` of a casper-node 1.5 mainnet node. */
export const STATUS_15 = fs.readFileSync(path.join(CASPER_FIXTURES, 'status-1.5.json'), 'utf8');

/** `/status` of a casper-node 2.0 testnet node. */
export const STATUS_20 = fs.readFileSync(path.join(CASPER_FIXTURES, 'status-2.0.json'), 'utf8');

/** The timestamp of each fixture's last added block. */
export const TS_15 = JSON.parse(STATUS_15).last_added_block_info.timestamp as string;
export const TS_20 = JSON.parse(STATUS_20).last_added_block_info.timestamp as string;

/** The 2.0 fixture with some top-level fields replaced. */
export const status20 = (patch: Record<string, unknown>) => JSON.stringify({ ...JSON.parse(STATUS_20), ...patch });

/**
 * What a status verdict (the canary's, the RPC probe's) reports of each
 * fixture's node besides its pass, message and block age.
 */
export const NODE_15 = { height: 3517642, eraId: 17291, reactorState: 'KeepUp', chainspecName: 'casper', peerCount: 6 };
export const NODE_20 = { height: 5102733, eraId: 18214, reactorState: 'KeepUp', chainspecName: 'casper-test', peerCount: 5 };
