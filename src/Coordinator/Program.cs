using Sweep.Coordinator.Cli;

return await SweepCli.Build().Parse(args).InvokeAsync();
