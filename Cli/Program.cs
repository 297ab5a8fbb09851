using System.CommandLine;
using ArchDsl.Cli;

// archc — the command line over ArchDsl. Argument parsing and output only: every decision is made by
// the Dsl, the Compiler or the Runtime. Exit codes: 0 ok, 1 the spec (or run) has errors, 2 usage.
return Cli.Run(args);
