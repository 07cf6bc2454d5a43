/**
 * Integration test: a `CasperReadOnlyNode` on Casper testnet with `enableVpn: true`.
 *
 * Deploys (stack `IntegNodeVpn`): the default node (see integ.node-defaults.ts) plus an
 * OpenVPN server (t4g.nano, its own Elastic IP, a PKI secret and five client-profile
 * secrets `admin1`..`admin5`) and an EC2 key pair for SSH; the node's SSH port is open
 * to the VPN server's security group only. As in the defaults test, `nodeName` is
 * `integ-node-vpn`, `removalPolicy` is DESTROY and there are no `alertEmails`.
 *
 * Asserts (stack `IntegNodeVpnAssertions`):
 *  1. the node's security group has exactly one source for TCP 22: the VPN server's
 *     security group (no IPv4 or IPv6 ranges, no prefix lists), via
 *     `describeSecurityGroups`;
 *  2. each of the five client-profile secrets holds a complete `.ovpn` profile (the VPN
 *     instance writes them at first boot, so this waits). A probe function reads them
 *     and returns only the names: see `profileProbe` for why not `getSecretValue`.
 * After `cdk destroy`, the post-destroy hook deletes the node's data volume and
 * snapshots (support/cleanup-node.ts; set AWS_REGION). The secrets are scheduled for
 * deletion (Secrets Manager's recovery window) and cost nothing meanwhile.
 *
 * Time: deploy 30-90 min (the node's bootstrap; the VPN server is ready within
 * minutes), assertions a few minutes, destroy and cleanup about 15 min: typically
 * 1-2 hours.
 * Cost per run (us-east-1, 2025 list prices): node instance 0.3456 USD/h x 1-2 h =
 * 0.35-0.70 USD; t4g.nano 0.0042 USD/h; 500 GiB gp3 for those hours 0.06-0.11 USD; two
 * Elastic IPs 0.005 USD/h each; canary, Lambda, secrets, alarms, dashboard prorated:
 * cents. Total about 0.5-1 USD.
 */
import { ExpectedResult, Match } from '@aws-cdk/integ-tests-alpha';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { CasperNetwork, CasperReadOnlyNode } from '../src';
import { LONG_WAIT, nodeIntegTest, profileProbe } from './support/assertions';
import { withoutScannerMetadata } from './support/snapshot';

const NODE_NAME = 'integ-node-vpn';

const app = new App();
const stack = withoutScannerMetadata(new Stack(app, 'IntegNodeVpn'));
const node = new CasperReadOnlyNode(stack, 'Node', {
  network: CasperNetwork.TESTNET,
  nodeName: NODE_NAME,
  removalPolicy: RemovalPolicy.DESTROY,
  enableVpn: true,
});
const vpn = node.vpnServer!;

const assertionStack = new Stack(app, 'IntegNodeVpnAssertions');
const integ = nodeIntegTest(app, 'NodeVpn', stack, assertionStack, NODE_NAME);
const assertions = integ.assertions;

// 1. SSH (TCP 22) on the node comes from the VPN server's security group and nothing else.
assertions
  .awsApiCall('EC2', 'describeSecurityGroups', { GroupIds: [node.securityGroup.securityGroup.securityGroupId] })
  .expect(ExpectedResult.objectLike({
    SecurityGroups: [Match.objectLike({
      IpPermissions: Match.arrayWith([Match.objectLike({
        IpProtocol: 'tcp',
        FromPort: 22,
        ToPort: 22,
        UserIdGroupPairs: [Match.objectLike({ GroupId: vpn.securityGroup.securityGroupId })],
        IpRanges: [],
        Ipv6Ranges: [],
        PrefixListIds: [],
      })]),
    })],
  }));

// 2. Every client profile has been written into its secret.
const probe = profileProbe(assertionStack, 'ProfileProbe', vpn.clientNames, vpn.clientProfileSecrets);
assertions
  .invokeFunction({ functionName: probe.functionName })
  .expect(ExpectedResult.objectLike({
    Payload: Match.serializedJson({ profiles: vpn.clientNames, missing: [] }),
  }))
  .waitForAssertions(LONG_WAIT);
