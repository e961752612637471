using Sweep.Worker.Cli;

return WorkerCli.Run(args);
