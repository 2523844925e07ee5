import ClientTool
import Glibc

exit(ClientCommand.main(arguments: Array(CommandLine.arguments.dropFirst())))
