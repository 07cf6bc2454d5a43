/**
 * What every Casper node this library builds holds, as the construct tests
 * and the renderer tests expect it.
 */

/** The `network` block of the node config for CasperNetwork.TESTNET: its chainspec, its config file and its ports. */
export const TESTNET_CONFIG_NETWORK = {
  chainspecName: 'casper-test',
  networkConfigFileName: 'casper-test.conf',
  runsSidecar: true,
  restPort: 8888,
  gossipPort: 35000,
  ssePort: 9999,
  rpcPort: 7777,
};

/** The launch template data of a node's instances: m6a.2xlarge, IMDSv2 with instance tags, an encrypted 30 GiB gp3 root volume. */
export const NODE_LAUNCH_TEMPLATE_DATA = {
  InstanceType: 'm6a.2xlarge',
  MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, InstanceMetadataTags: 'enabled' },
  BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { Encrypted: true, VolumeType: 'gp3', VolumeSize: 30, DeleteOnTermination: true } }],
};
