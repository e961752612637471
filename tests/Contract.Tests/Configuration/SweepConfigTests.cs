using Akka.Configuration;
using Sweep.Contract.Configuration;

namespace Sweep.Contract.Tests.Configuration;

/// <summary>The embedded reference.conf, the user-file override and the one HOCON quoting helper.</summary>
public sealed class SweepConfigTests
{
    [Fact]
    public void The_reference_config_is_embedded_and_binds_the_serializer_to_this_assembly()
    {
        var reference = SweepConfig.Reference();
        var serializer = reference.GetString("akka.actor.serializers.sweep-json");
        Assert.Equal(typeof(Sweep.Contract.Serialization.SweepWireSerializer).FullName + ", " + typeof(SweepConfig).Assembly.GetName().Name, serializer);
        Assert.NotNull(Type.GetType(serializer));
        Assert.Equal(Sweep.Contract.Serialization.SweepWireSerializer.SerializerId,
            reference.GetInt($"akka.actor.serialization-identifiers.\"{serializer}\""));
    }

    [Fact]
    public void Node_settings_come_from_the_reference_config_and_validate_their_values()
    {
        var settings = NodeSettings.Create(SweepConfig.Reference());
        Assert.Equal(TimeSpan.FromSeconds(30), settings.JoinTimeout);
        Assert.Equal("sweep.log", settings.LogFile);

        var copy = settings.WithJoinTimeout(TimeSpan.FromSeconds(5)).WithLogFile("other.log");
        Assert.Equal(TimeSpan.FromSeconds(5), copy.JoinTimeout);
        Assert.Equal("other.log", copy.LogFile);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.JoinTimeout);

        Assert.Throws<ArgumentOutOfRangeException>(() => settings.WithJoinTimeout(TimeSpan.Zero));
        Assert.Throws<ArgumentException>(() => settings.WithLogFile(" "));
        var overridden = ConfigurationFactory.ParseString("sweep.node.join-timeout = 7s").WithFallback(SweepConfig.Reference());
        Assert.Equal(TimeSpan.FromSeconds(7), NodeSettings.Create(overridden).JoinTimeout);
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("with \"quotes\" and \\ backslashes")]
    [InlineData("Host=db;Password=a\"b}\nakka.loglevel = DEBUG")]
    [InlineData("C:\\runs\\x.log")]
    public void A_quoted_value_reads_back_as_itself_and_never_adds_keys(string value)
    {
        var config = ConfigurationFactory.ParseString($"sweep.value = {SweepConfig.Quote(value)}");
        Assert.Equal(value, config.GetString("sweep.value"));
        Assert.False(config.HasPath("akka.loglevel"));
        var list = ConfigurationFactory.ParseString($"sweep.values = {SweepConfig.QuoteList([value, "b"])}");
        Assert.Equal([value, "b"], list.GetStringList("sweep.values"));
    }
}
