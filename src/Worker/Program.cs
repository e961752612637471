using Sweep.Worker.Cli;

return WorkerCli.Build().Parse(args).Invoke();
