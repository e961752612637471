using Sweep.Coordinator.Cli;

return SweepCli.Build().Parse(args).Invoke();
