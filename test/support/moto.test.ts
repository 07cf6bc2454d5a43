import { CreateVolumeCommand, DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { MotoServer, startMoto } from './moto';

describe('moto harness', () => {
  let moto: MotoServer;
  beforeAll(async () => { moto = await startMoto(); });
  afterAll(async () => { await moto.stop(); });

  test('serves EC2 on loopback and resets', async () => {
    expect(moto.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const ec2 = new EC2Client({ endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 100, VolumeType: 'gp3' }));
    expect((await ec2.send(new DescribeVolumesCommand({}))).Volumes).toHaveLength(1);
    await moto.reset();
    expect((await ec2.send(new DescribeVolumesCommand({}))).Volumes).toHaveLength(0);
  });
});
