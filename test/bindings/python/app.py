"""The binding smoke app in Python: the same stack as test/bindings/app.ts,
built through the generated cdk_casper_node wheel."""
import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from cdk_casper_node import (
    CasperElasticIp,
    CasperNetwork,
    CasperNodeFleet,
    CasperNodeSecurityGroup,
    CasperReadOnlyNode,
    CasperVpc,
    SshAccess,
)

# A validation error must cross the language boundary with its message.
try:
    CasperVpc(cdk.Stack(cdk.App(auto_synth=False), "Bad"), "Net", cidr="10.0.0.0/8")
    raise SystemExit("expected CasperVpc to reject cidr 10.0.0.0/8")
except Exception as err:  # jsii raises a generic error carrying the JS message
    if 'invalid cidr "10.0.0.0/8"' not in str(err):
        raise
try:
    CasperNodeFleet(cdk.Stack(cdk.App(auto_synth=False), "BadFleet"), "Fleet",
                    network=CasperNetwork.TESTNET, internet_facing=True)
    raise SystemExit("expected CasperNodeFleet to reject internet_facing without allowed_cidrs")
except Exception as err:
    if "is required with internetFacing: true" not in str(err):
        raise

app = cdk.App()
stack = cdk.Stack(app, "CasperSmoke")
net = CasperVpc(stack, "Net", cidr="10.42.0.0/16")
network = CasperNetwork.custom(chainspec_name="casper-smoke", runs_sidecar=True, rpc_port=17777)
CasperNodeSecurityGroup(
    stack,
    "NodeSg",
    vpc=net.vpc,
    network=network,
    ssh_access=SshAccess.from_cidrs(["203.0.113.0/24"]),
    rpc_peers=[ec2.Peer.ipv4("198.51.100.0/24")],
    public_status_port=True,
)
CasperElasticIp(stack, "Ip", node_name="smoke-node", removal_policy=cdk.RemovalPolicy.DESTROY)
cdk.CfnOutput(stack, "Chainspec", value=network.chainspec_name)
cdk.CfnOutput(stack, "Testnet", value=CasperNetwork.TESTNET.network_config_file_name)

# The whole node, which reads its shipped user data template at synth time.
node_stack = cdk.Stack(app, "CasperSmokeNode")
CasperReadOnlyNode(
    node_stack,
    "Node",
    network=CasperNetwork.TESTNET,
    node_name="smoke-reader",
    alert_emails=["ops@example.com"],
    ssh_access=SshAccess.from_cidrs(["203.0.113.0/24"]),
)

# The default node: only the required prop, as a new user writes it first.
CasperReadOnlyNode(cdk.Stack(app, "CasperDefaultNode"), "Node", network=CasperNetwork.TESTNET)

# A fleet of two behind an internet-facing load balancer open to two ranges, with SSE.
fleet_stack = cdk.Stack(app, "CasperSmokeFleet")
fleet = CasperNodeFleet(
    fleet_stack,
    "Fleet",
    network=CasperNetwork.TESTNET,
    node_count=2,
    fleet_name="smoke-fleet",
    internet_facing=True,
    allowed_cidrs=["203.0.113.0/24", "2001:db8::/32"],
    enable_sse=True,
    max_block_age=cdk.Duration.minutes(15),
    alert_emails=["ops@example.com"],
)
cdk.CfnOutput(fleet_stack, "Members", value=",".join(fleet.member_names))
app.synth()
print("python smoke app: synthesized CasperSmoke, CasperSmokeNode, CasperDefaultNode and CasperSmokeFleet")
