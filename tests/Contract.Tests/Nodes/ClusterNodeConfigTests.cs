using Sweep.Contract.Cli;
using Sweep.Contract.Nodes;

namespace Sweep.Contract.Tests.Nodes;

/// <summary>The command line's node options over the configuration.</summary>
public sealed class ClusterNodeConfigTests
{
    [Fact]
    public void Command_line_values_override_the_defaults_and_absent_ones_keep_them()
    {
        var loopback = ClusterNodeConfig.Build(ClusterNodeOptions.Loopback(ClusterNodeConfig.WorkerRole, "127.0.0.1:4053"));
        Assert.Equal("127.0.0.1", loopback.GetString("akka.remote.dot-netty.tcp.hostname"));
        Assert.Equal(0, loopback.GetInt("akka.remote.dot-netty.tcp.port"));
        Assert.Equal(["akka.tcp://sweep@127.0.0.1:4053"], loopback.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal([ClusterNodeConfig.WorkerRole], loopback.GetStringList("akka.cluster.roles"));

        var explicitNode = ClusterNodeConfig.Build(new ClusterNodeOptions("10.0.0.2", 4100, [], ClusterNodeConfig.CoordinatorRole));
        Assert.Equal("10.0.0.2", explicitNode.GetString("akka.remote.dot-netty.tcp.hostname"));
        Assert.Equal("10.0.0.2", explicitNode.GetString("akka.remote.dot-netty.tcp.public-hostname"));
        Assert.Equal(4100, explicitNode.GetInt("akka.remote.dot-netty.tcp.port"));
        Assert.Empty(explicitNode.GetStringList("akka.cluster.seed-nodes"));
    }

    [Theory]
    [InlineData("not a host:port:x")]
    [InlineData("akka.tcp://other@127.0.0.1:4053")]
    [InlineData("127.0.0.1")]
    public void A_bad_seed_node_is_a_one_line_usage_error_naming_it(string seed)
    {
        var error = Assert.Throws<SweepUsageException>(() => ClusterNodeConfig.NormalizeSeedNode(seed));
        Assert.Contains(seed, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Join_timeout_and_port_flags_are_checked()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), ClusterNodeConfig.JoinTimeout(null));
        Assert.Equal(TimeSpan.FromSeconds(2.5), ClusterNodeConfig.JoinTimeout(2.5));
        Assert.Throws<SweepUsageException>(() => ClusterNodeConfig.JoinTimeout(0));
        Assert.Throws<SweepUsageException>(() => ClusterNodeConfig.CheckPort(70000));
        Assert.Equal(4053, ClusterNodeConfig.CheckPort(4053));
    }
}
