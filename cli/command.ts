// How a command plugs into `fleetguard`: commander parses the arguments and writes `--help`; the action returns
// the exit code of the README ("Command line"), which commander itself would discard.
import { Command } from 'commander';
import { EXIT } from './io.js';

export class CliCommand extends Command {
  /** Set by the action that ran; read from the root command. */
  exitCode: number = EXIT.ok;

  override createCommand(name?: string): CliCommand {
    return new CliCommand(name);
  }

  /** The action: its result is the process's exit code. */
  run<A extends unknown[]>(action: (...args: A) => number | Promise<number>): this {
    return this.action(async (...args: A) => {
      let root: CliCommand = this;
      while (root.parent instanceof CliCommand) root = root.parent;
      root.exitCode = await action(...args);
    });
  }
}

/** A command module adds its arguments, options and action to the command `fleetguard` made for it. */
export interface CommandModule {
  define(command: CliCommand): void;
}
