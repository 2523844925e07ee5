import Campaign
import Glibc

exit(CampaignCommand.main(arguments: Array(CommandLine.arguments.dropFirst())))
