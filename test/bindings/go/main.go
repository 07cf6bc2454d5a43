// The binding smoke app in Go: the same stack as test/bindings/app.ts, built
// through the generated cdkcaspernode module.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"
	casper "github.com/cdk-casper-node/cdk-casper-node-go/cdkcaspernode"
)

// expectRejected checks that a validation error crosses the language boundary with its message.
func expectRejected() {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), `invalid cidr "10.0.0.0/8"`) {
			fmt.Fprintf(os.Stderr, "expected CasperVpc to reject cidr 10.0.0.0/8, got %v\n", r)
			os.Exit(1)
		}
	}()
	bad := awscdk.NewStack(awscdk.NewApp(&awscdk.AppProps{AutoSynth: jsii.Bool(false)}), jsii.String("Bad"), nil)
	casper.NewCasperVpc(bad, jsii.String("Net"), &casper.CasperVpcProps{Cidr: jsii.String("10.0.0.0/8")})
}

// expectFleetRejected checks the same for a fleet that is internet-facing without allowed CIDRs.
func expectFleetRejected() {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), "is required with internetFacing: true") {
			fmt.Fprintf(os.Stderr, "expected CasperNodeFleet to reject InternetFacing without AllowedCidrs, got %v\n", r)
			os.Exit(1)
		}
	}()
	bad := awscdk.NewStack(awscdk.NewApp(&awscdk.AppProps{AutoSynth: jsii.Bool(false)}), jsii.String("BadFleet"), nil)
	casper.NewCasperNodeFleet(bad, jsii.String("Fleet"), &casper.CasperNodeFleetProps{
		Network:        casper.CasperNetwork_TESTNET(),
		InternetFacing: jsii.Bool(true),
	})
}

func main() {
	defer jsii.Close()
	expectRejected()
	expectFleetRejected()

	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("CasperSmoke"), nil)
	net := casper.NewCasperVpc(stack, jsii.String("Net"), &casper.CasperVpcProps{Cidr: jsii.String("10.42.0.0/16")})
	network := casper.CasperNetwork_Custom(&casper.CustomCasperNetworkProps{
		ChainspecName: jsii.String("casper-smoke"),
		RunsSidecar:   jsii.Bool(true),
		RpcPort:       jsii.Number(17777),
	})
	casper.NewCasperNodeSecurityGroup(stack, jsii.String("NodeSg"), &casper.CasperNodeSecurityGroupProps{
		Vpc:              net.Vpc(),
		Network:          network,
		SshAccess:        casper.SshAccess_FromCidrs(jsii.Strings("203.0.113.0/24")),
		RpcPeers:         &[]awsec2.IPeer{awsec2.Peer_Ipv4(jsii.String("198.51.100.0/24"))},
		PublicStatusPort: jsii.Bool(true),
	})
	casper.NewCasperElasticIp(stack, jsii.String("Ip"), &casper.CasperElasticIpProps{
		NodeName:      jsii.String("smoke-node"),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	awscdk.NewCfnOutput(stack, jsii.String("Chainspec"), &awscdk.CfnOutputProps{Value: network.ChainspecName()})
	awscdk.NewCfnOutput(stack, jsii.String("Testnet"), &awscdk.CfnOutputProps{Value: casper.CasperNetwork_TESTNET().NetworkConfigFileName()})

	// The whole node, which reads its shipped user data template at synth time.
	nodeStack := awscdk.NewStack(app, jsii.String("CasperSmokeNode"), nil)
	casper.NewCasperReadOnlyNode(nodeStack, jsii.String("Node"), &casper.CasperReadOnlyNodeProps{
		Network:     casper.CasperNetwork_TESTNET(),
		NodeName:    jsii.String("smoke-reader"),
		AlertEmails: jsii.Strings("ops@example.com"),
		SshAccess:   casper.SshAccess_FromCidrs(jsii.Strings("203.0.113.0/24")),
	})

	// The default node: only the required prop, as a new user writes it first.
	casper.NewCasperReadOnlyNode(awscdk.NewStack(app, jsii.String("CasperDefaultNode"), nil), jsii.String("Node"),
		&casper.CasperReadOnlyNodeProps{Network: casper.CasperNetwork_TESTNET()})

	// A fleet of two behind an internet-facing load balancer open to two ranges, with SSE.
	fleetStack := awscdk.NewStack(app, jsii.String("CasperSmokeFleet"), nil)
	fleet := casper.NewCasperNodeFleet(fleetStack, jsii.String("Fleet"), &casper.CasperNodeFleetProps{
		Network:        casper.CasperNetwork_TESTNET(),
		NodeCount:      jsii.Number(2),
		FleetName:      jsii.String("smoke-fleet"),
		InternetFacing: jsii.Bool(true),
		AllowedCidrs:   jsii.Strings("203.0.113.0/24", "2001:db8::/32"),
		EnableSse:      jsii.Bool(true),
		MaxBlockAge:    awscdk.Duration_Minutes(jsii.Number(15)),
		AlertEmails:    jsii.Strings("ops@example.com"),
	})
	members := []string{}
	for _, name := range *fleet.MemberNames() {
		members = append(members, *name)
	}
	awscdk.NewCfnOutput(fleetStack, jsii.String("Members"), &awscdk.CfnOutputProps{Value: jsii.String(strings.Join(members, ","))})
	app.Synth(nil)
	fmt.Println("go smoke app: synthesized CasperSmoke, CasperSmokeNode, CasperDefaultNode and CasperSmokeFleet")
}
