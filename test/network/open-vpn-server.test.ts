import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { CasperVpc, OpenVpnServer, OpenVpnServerProps } from '../../src';
import { renderVpnConfigEnv } from '../../src/private/contract';
import { expectNagAndCfnLintClean } from '../support/checks';
import { agnosticStack, expectRejected } from '../support/stacks';

function vpcIn(stack: Stack): ec2.IVpc {
  return new CasperVpc(stack, 'Vpc', { cidr: '10.20.0.0/16' }).vpc;
}

function build(props: Partial<OpenVpnServerProps> = {}) {
  const stack = agnosticStack();
  const vpc = vpcIn(stack);
  const vpn = new OpenVpnServer(stack, 'Vpn', { vpc, ...props });
  return { stack, vpc, vpn, t: Template.fromStack(stack) };
}

/** The user data script, with tokens rendered as `<LogicalId>` / `<LogicalId.Attr>` / `<AWS::Region>`. */
function userDataOf(t: Template): string {
  const instance = Object.values(t.findResources('AWS::EC2::Instance'))[0];
  const render = (v: any): string => {
    if (typeof v === 'string') return v;
    if (v.Ref) return `<${v.Ref}>`;
    if (v['Fn::GetAtt']) return `<${v['Fn::GetAtt'].join('.')}>`;
    if (v['Fn::Join']) return v['Fn::Join'][1].map(render).join(v['Fn::Join'][0]);
    if (v['Fn::Sub']) return v['Fn::Sub'];
    return JSON.stringify(v);
  };
  return render(instance.Properties.UserData['Fn::Base64']);
}

describe('OpenVpnServer with defaults', () => {
  const { stack, vpn, t } = build();

  test('a t4g.nano on Ubuntu 22.04 arm64, IMDSv2, encrypted gp3 root, public subnet, its own Elastic IP', () => {
    t.hasResourceProperties('AWS::EC2::Instance', {
      InstanceType: 't4g.nano',
      BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { Encrypted: true, VolumeType: 'gp3', VolumeSize: 8 } }],
    });
    const params = Object.values(t.toJSON().Parameters).map((p: any) => p.Default);
    expect(params).toContain('/aws/service/canonical/ubuntu/server/22.04/stable/current/arm64/hvm/ebs-gp2/ami-id');
    // IMDSv2 only.
    expect(JSON.stringify(t.toJSON())).toMatch(/"HttpTokens":"required"/);
    t.resourceCountIs('AWS::EC2::EIP', 1);
    t.hasResourceProperties('AWS::EC2::EIPAssociation', {
      AllocationId: { 'Fn::GetAtt': [stack.getLogicalId(vpn.elasticIp), 'AllocationId'] },
      InstanceId: stack.resolve((vpn.instance.node.defaultChild as ec2.CfnInstance).ref),
    });
  });

  test('UDP 1194 from anywhere, nothing else inbound', () => {
    const sg = Object.values(t.findResources('AWS::EC2::SecurityGroup'))
      .find((r) => String(r.Properties.GroupDescription).startsWith('OpenVPN server'))!;
    expect(sg.Properties.SecurityGroupIngress).toEqual([
      expect.objectContaining({ IpProtocol: 'udp', FromPort: 1194, ToPort: 1194, CidrIp: '0.0.0.0/0' }),
    ]);
    expect(vpn.port).toBe(1194);
  });

  test('one PKI secret and five client profile secrets, retained, placeholders only', () => {
    t.resourceCountIs('AWS::SecretsManager::Secret', 6);
    for (const s of Object.values(t.findResources('AWS::SecretsManager::Secret'))) {
      expect(s.DeletionPolicy).toBe('Retain');
      expect(JSON.parse(s.Properties.GenerateSecretString.SecretStringTemplate)).not.toHaveProperty('ca');
    }
    expect(vpn.clientNames).toEqual(['admin1', 'admin2', 'admin3', 'admin4', 'admin5']);
    expect(vpn.clientProfileSecrets).toHaveLength(5);
  });

  test('the role touches only its own secrets and its setup script, and serves Session Manager', () => {
    const roleRef = JSON.stringify({ Ref: stack.getLogicalId(vpn.role.node.defaultChild as any) });
    const statements = Object.values(t.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleRef))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: any }>);
    const secretRefs = [vpn.pkiSecret, ...vpn.clientProfileSecrets].map((s) => ({ Ref: stack.getLogicalId(s.node.defaultChild as any) }));
    const secretStatements = statements.filter((s) => JSON.stringify(s.Action).includes('secretsmanager:'));
    expect(secretStatements.map((s) => s.Resource).flat()).toEqual(expect.arrayContaining(secretRefs));
    for (const s of secretStatements) {
      for (const r of [s.Resource].flat()) expect(secretRefs).toContainEqual(r);
    }
    const actions = new Set(statements.flatMap((s) => [s.Action].flat()));
    expect([...actions].sort()).toEqual([
      's3:GetObject',
      'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue',
      'ssm:UpdateInstanceInformation',
      'ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel',
    ]);
    // Session Manager only: no managed policy (AmazonSSMManagedInstanceCore reads every SSM parameter).
    const role = t.toJSON().Resources[stack.getLogicalId(vpn.role.node.defaultChild as any)];
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(statements.filter((s) => JSON.stringify(s.Action).includes('ssm'))).toEqual([{
      Sid: 'SessionManager',
      Effect: 'Allow',
      Action: ['ssm:UpdateInstanceInformation', 'ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel'],
      Resource: '*',
    }]);
    // The script and the shell library it sources are two objects: no wildcard.
    const s3 = statements.find((s) => s.Action === 's3:GetObject')!;
    expect([s3.Resource].flat()).toHaveLength(2);
    expect(JSON.stringify(s3.Resource)).not.toContain('*');
  });

  test('user data downloads the setup script with lib.sh beside it and writes the config.env contract', () => {
    const ud = userDataOf(t);
    expect(ud).toMatch(/^aws s3 cp --region <AWS::Region> s3:\/\/\S+ \/etc\/casper-vpn\/setup\.sh$/m);
    expect(ud).toMatch(/^aws s3 cp --region <AWS::Region> s3:\/\/\S+ \/etc\/casper-vpn\/lib\.sh$/m);
    expect(ud).toMatch(/^VPN_PORT=1194$/m);
    expect(ud).toMatch(/^VPN_NETWORK=10\.8\.0\.0\/24$/m);
    expect(ud).toMatch(/^VPC_CIDR=<Vpc[0-9A-Za-z]+\.CidrBlock>$/m);
    expect(ud).toMatch(new RegExp(`^PUBLIC_ADDRESS=<${stack.getLogicalId(vpn.elasticIp)}\\.PublicIp>$`, 'm'));
    expect(ud).toMatch(/^PKI_SECRET_ARN=<VpnPki[0-9A-F]+>$/m);
    expect(ud).toMatch(/^CLIENT_NAMES="admin1 admin2 admin3 admin4 admin5"$/m);
    expect(ud).toMatch(/^CLIENT_SECRET_ARNS="(<VpnClientadmin\d[0-9A-F]+> ?){5}"$/m);
    expect(ud).toContain('bash /etc/casper-vpn/setup.sh /etc/casper-vpn/config.env');
  });

  test('config.env is exactly what the contract renders (the VPN shell tests write it the same way)', () => {
    const ud = userDataOf(t).split('\n');
    const start = ud.indexOf('cat >/etc/casper-vpn/config.env <<EOF');
    const logicalId = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as any);
    expect(ud.slice(start + 1, ud.indexOf('EOF', start))).toEqual(renderVpnConfigEnv({
      REGION: '<AWS::Region>',
      VPN_PORT: 1194,
      VPN_NETWORK: '10.8.0.0/24',
      VPC_CIDR: ud.find((l) => l.startsWith('VPC_CIDR='))!.slice('VPC_CIDR='.length),
      PUBLIC_ADDRESS: `<${stack.getLogicalId(vpn.elasticIp)}.PublicIp>`,
      PKI_SECRET_ARN: `<${logicalId(vpn.pkiSecret)}>`,
      CLIENT_NAMES: ['admin1', 'admin2', 'admin3', 'admin4', 'admin5'],
      CLIENT_SECRET_ARNS: vpn.clientProfileSecrets.map((s) => `<${logicalId(s)}>`),
    }));
  });

  test('allowSshTo opens 22 on the target to the VPN server only', () => {
    const s = agnosticStack();
    const vpc = vpcIn(s);
    const server = new OpenVpnServer(s, 'Vpn', { vpc });
    const node = new ec2.SecurityGroup(s, 'Node', { vpc });
    server.allowSshTo(node);
    Template.fromStack(s).hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp',
      FromPort: 22,
      ToPort: 22,
      GroupId: { 'Fn::GetAtt': [s.getLogicalId(node.node.defaultChild as any), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [s.getLogicalId(server.securityGroup.node.defaultChild as any), 'GroupId'] },
    });
  });

  test('outputs: public IP and where each profile is', () => {
    const outputs = t.toJSON().Outputs;
    expect(Object.keys(outputs).some((k) => k.startsWith('VpnPublicIp'))).toBe(true);
    const profiles = Object.entries(outputs).find(([k]) => k.startsWith('VpnClientProfileSecrets'))![1] as any;
    expect(JSON.stringify(profiles.Value)).toContain('admin5=');
  });

  test('cdk-nag and cfn-lint clean', () => {
    expectNagAndCfnLintClean(stack);
  });
});

describe('launch template name (IMDSv2)', () => {
  const FLAG = '@aws-cdk/aws-ec2:uniqueImdsv2TemplateName';

  /** Launch template name of each server, by stack and construct id; and what each instance uses. */
  function launchTemplateNames(app: App, stacks: { [stack: string]: string[] }): { [where: string]: string } {
    const names: { [where: string]: string } = {};
    const built = Object.entries(stacks).map(([stackId, ids]) => {
      const stack = new Stack(app, stackId);
      const vpc = vpcIn(stack);
      return { stackId, stack, servers: ids.map((id) => new OpenVpnServer(stack, id, { vpc })) };
    });
    for (const { stackId, stack, servers } of built) {
      const t = Template.fromStack(stack).toJSON();
      for (const vpn of servers) {
        const cfn = vpn.instance.node.findChild('LaunchTemplate') as ec2.CfnLaunchTemplate;
        const name = t.Resources[stack.resolve(cfn.logicalId)].Properties.LaunchTemplateName;
        const instance = t.Resources[stack.resolve((vpn.instance.node.defaultChild as ec2.CfnInstance).logicalId)];
        expect(instance.Properties.LaunchTemplate.LaunchTemplateName).toBe(name);
        names[`${stackId}/${vpn.node.id}`] = name;
      }
    }
    return names;
  }

  test('two servers in one stack and in two stacks get distinct names, with no feature flag set', () => {
    const app = new App();
    expect(app.node.tryGetContext(FLAG)).toBeUndefined();
    const names = launchTemplateNames(app, { One: ['Vpn', 'Vpn2'], Two: ['Vpn'] });
    expect(Object.keys(names)).toHaveLength(3);
    expect(new Set(Object.values(names)).size).toBe(3);
    // Never the fixed name CDK gives without the flag.
    for (const name of Object.values(names)) expect(name).not.toBe('InstanceLaunchTemplate');
    expect(names).toEqual({
      'One/Vpn': expect.stringMatching(/^OneVpnInstanceLaunchTemplate[0-9A-F]{8}$/),
      'One/Vpn2': expect.stringMatching(/^OneVpn2InstanceLaunchTemplate[0-9A-F]{8}$/),
      'Two/Vpn': expect.stringMatching(/^TwoVpnInstanceLaunchTemplate[0-9A-F]{8}$/),
    });
  });

  test('the name is the one the app-level flag gives: apps that set it see no change', () => {
    const layout = { One: ['Vpn'], Two: ['Vpn'] };
    const withFlag = launchTemplateNames(new App({ context: { [FLAG]: true } }), layout);
    expect(launchTemplateNames(new App(), layout)).toEqual(withFlag);
  });

  test('the flag is set for the server only, not for the rest of the app', () => {
    const { stack, vpn } = build();
    expect(vpn.node.tryGetContext(FLAG)).toBe(true);
    expect(stack.node.tryGetContext(FLAG)).toBeUndefined();
  });
});

describe('OpenVpnServer props', () => {
  test('port, client CIDRs, names, tunnel, x86 type, DESTROY', () => {
    const { t } = build({
      port: 11940,
      allowedClientCidrs: ['203.0.113.0/24', '2001:db8::/48'],
      clientNames: ['alice', 'bob'],
      tunnelCidr: '172.31.250.0/24',
      instanceType: new ec2.InstanceType('t3a.micro'),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const sg = Object.values(t.findResources('AWS::EC2::SecurityGroup'))
      .find((r) => String(r.Properties.GroupDescription).startsWith('OpenVPN server'))!;
    expect(sg.Properties.SecurityGroupIngress).toEqual([
      expect.objectContaining({ IpProtocol: 'udp', FromPort: 11940, CidrIp: '203.0.113.0/24' }),
      expect.objectContaining({ IpProtocol: 'udp', FromPort: 11940, CidrIpv6: '2001:db8::/48' }),
    ]);
    t.resourceCountIs('AWS::SecretsManager::Secret', 3);
    t.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Delete' });
    t.hasResourceProperties('AWS::EC2::Instance', { InstanceType: 't3a.micro' });
    const params = Object.values(t.toJSON().Parameters).map((p: any) => p.Default);
    expect(params).toContain('/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id');
    const ud = JSON.stringify(Object.values(t.findResources('AWS::EC2::Instance'))[0].Properties.UserData);
    expect(ud).toContain('VPN_PORT=11940');
    expect(ud).toContain('VPN_NETWORK=172.31.250.0/24');
    expect(ud).toContain('CLIENT_NAMES=\\"alice bob\\"');
  });

  test('50 clients are allowed', () => {
    const { vpn } = build({ clientCount: 50 });
    expect(vpn.clientProfileSecrets).toHaveLength(50);
    expect(vpn.clientNames[49]).toBe('admin50');
  });

  const bad: Array<[string, Partial<OpenVpnServerProps>, string]> = [
    ['clientCount 0', { clientCount: 0 }, 'OpenVpnServer: invalid clientCount 0: must be a whole number from 1 to 50'],
    ['clientCount 51', { clientCount: 51 }, 'OpenVpnServer: invalid clientCount 51: must be a whole number from 1 to 50'],
    ['clientCount 2.5', { clientCount: 2.5 }, 'OpenVpnServer: invalid clientCount 2.5: must be a whole number from 1 to 50'],
    ['no client names', { clientNames: [] }, 'OpenVpnServer: invalid clientNames []: must name from 1 to 50 clients'],
    ['a bad client name', { clientNames: ['ok', 'no spaces'] }, 'OpenVpnServer: invalid clientNames "no spaces": each name must be 1 to 64 letters'],
    ['client name "server"', { clientNames: ['server'] }, 'OpenVpnServer: invalid clientNames "server": each name must be'],
    ['a duplicate name', { clientNames: ['a', 'a'] }, 'OpenVpnServer: invalid clientNames ["a","a"]: must not list a name twice'],
    ['count and names', { clientCount: 2, clientNames: ['a'] }, 'OpenVpnServer: invalid clientCount 2: give clientCount or clientNames, not both'],
    ['port 0', { port: 0 }, 'OpenVpnServer: invalid port 0: a port must be an integer from 1 to 65535'],
    ['port 65536', { port: 65536 }, 'OpenVpnServer: invalid port 65536: a port must be an integer from 1 to 65535'],
    ['malformed CIDR', { allowedClientCidrs: ['203.0.113.0/33'] }, 'OpenVpnServer: invalid allowedClientCidrs "203.0.113.0/33": each entry must be an IPv4 CIDR'],
    ['CIDR with host bits', { allowedClientCidrs: ['203.0.113.7/24'] }, 'OpenVpnServer: invalid allowedClientCidrs "203.0.113.7/24": each entry must be'],
    ['empty CIDR list', { allowedClientCidrs: [] }, 'OpenVpnServer: invalid allowedClientCidrs []: must list at least one CIDR block'],
    ['tunnel /30', { tunnelCidr: '10.8.0.0/30' }, 'OpenVpnServer: invalid tunnelCidr "10.8.0.0/30": must be an IPv4 CIDR from /16 to /29'],
    ['tunnel malformed', { tunnelCidr: '10.8.0/24' }, 'OpenVpnServer: invalid tunnelCidr "10.8.0/24": must be an IPv4 CIDR'],
    ['tunnel inside the VPC', { tunnelCidr: '10.20.5.0/24' }, 'OpenVpnServer: invalid tunnelCidr "10.20.5.0/24": must not overlap the VPC (10.20.0.0/16)'],
    ['root volume 4 GiB', { rootVolumeSizeGiB: 4 }, 'OpenVpnServer: invalid rootVolumeSizeGiB 4: must be a whole number of GiB from 8 to 100'],
  ];
  test.each(bad)('rejects %s', (_name, props, message) => {
    const stack = agnosticStack();
    const vpc = vpcIn(stack);
    expectRejected(stack, () => new OpenVpnServer(stack, 'Vpn', { vpc, ...props }), message);
  });

  test('rejects a missing vpc (JavaScript callers)', () => {
    const stack = agnosticStack();
    expectRejected(stack, () => new OpenVpnServer(stack, 'Vpn', {} as any), 'OpenVpnServer: invalid vpc undefined: is required');
  });

  test('the tunnel overlap check uses the VPC CIDR when it is known: a tunnel just outside it is fine', () => {
    const { t } = build({ tunnelCidr: '10.21.0.0/24' });
    expect(userDataOf(t)).toMatch(/^VPN_NETWORK=10\.21\.0\.0\/24$/m);
  });
});
