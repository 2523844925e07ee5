import Glibc
import ViewLeaderKit

exit(ViewLeaderCommand.main(arguments: Array(CommandLine.arguments.dropFirst())))
