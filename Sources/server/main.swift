import Glibc
import ServerKit

exit(ServerCommand.main(arguments: Array(CommandLine.arguments.dropFirst())))
