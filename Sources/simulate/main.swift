import Glibc
import Simulation

exit(SimulateCommand.main(arguments: Array(CommandLine.arguments.dropFirst())))
