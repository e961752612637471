using Sweep.Worker.Cli;

return await WorkerCli.Build().Parse(args).InvokeAsync();
