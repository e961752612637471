using Akka.Configuration;
using Sweep.Contract.Configuration;
using Sweep.Coordinator.Actors;

namespace Sweep.Coordinator.Tests.Actors;

public sealed class CoordinatorRestartSettingsTests
{
    private static CoordinatorRestartSettings With(string line) =>
        CoordinatorRestartSettings.Create(ConfigurationFactory.ParseString(line).WithFallback(SweepConfig.Reference()));

    [Fact]
    public void The_reference_configuration_gives_valid_settings_and_a_user_line_overrides_one()
    {
        var reference = CoordinatorRestartSettings.Create(SweepConfig.Reference());
        Assert.True(reference.MinBackoff <= reference.MaxBackoff);

        var overridden = With("sweep.coordinator.restart.give-up-after = 6s");

        Assert.Equal(TimeSpan.FromSeconds(6), overridden.GiveUpAfter);
        Assert.Equal(reference.InFlightGrace, overridden.InFlightGrace);
    }

    [Theory]
    [InlineData("sweep.coordinator.restart.min-backoff = 0s", "min-backoff must be positive")]
    [InlineData("sweep.coordinator.restart.max-backoff = 500ms", "max-backoff must be at least min-backoff")]
    [InlineData("sweep.coordinator.restart.in-flight-grace = 0s", "in-flight-grace must be positive")]
    [InlineData("sweep.coordinator.restart.give-up-after = 0s", "give-up-after must be positive")]
    public void An_invalid_value_is_refused_naming_its_key(string line, string message)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => With(line));
        Assert.Contains("sweep.coordinator.restart." + message, error.Message);
    }
}
