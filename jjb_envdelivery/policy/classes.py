"""The plugin classes the job policy knows, and what it does with each.

Classes are matched in the rendered config.xml, never in the YAML (``raw:`` can emit anything):
as element tags (XStream writes ``_`` as ``__`` and ``$`` as ``_-``, core XStream2.java:435-436)
and as ``class="..."`` attributes. A class is ALLOWED (perhaps with field checks in
``policy.check``), DENIED with the rule it breaks, or unknown (refused unless the org file's
``policy.unknown-classes`` is ``allow``). Each denial cites why, from
shared/reference/jenkins-security.md (its sources are the plugins' code at pinned commits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Rule(StrEnum):
    """What a refused element would let a team do; the README's policy table lists them."""

    CONTROLLER_CODE = "controller-code"      # code run in the controller JVM
    PERMISSIONS = "permissions"              # who may do what, who a build runs as
    AGENT_LABEL = "agent-label"              # where builds run
    CREDENTIAL = "credential"                # which secrets a build can bind
    REACH = "reach"                          # other jobs a build starts, watches or copies from
    WORKSPACE = "workspace"                  # files outside the job's own workspace
    SHARED_RESOURCES = "shared-resources"    # executors and locks other teams share
    AUTH_TOKEN = "auth-token"                # builds started by anyone holding a token
    PROJECT_TYPE = "project-type"            # job kinds the policy can judge
    UNKNOWN_CLASS = "unknown-class"          # a plugin class the policy does not know


@dataclass(frozen=True)
class Denial:
    rule: Rule
    why: str


# Allowed, with their fields checked in ``policy.check`` where they name jobs, labels or
# credentials. Prefixes (ending in ".") allow a plugin's whole package of harmless parts.
ALLOWED = frozenset({
    # job kinds and folders
    "com.cloudbees.hudson.plugins.folder.Folder",
    "com.cloudbees.hudson.plugins.folder.icons.StockFolderIcon",
    "com.cloudbees.hudson.plugins.folder.computed.DefaultOrphanedItemStrategy",
    "hudson.views.DefaultViewsTabBar",
    "hudson.model.AllView",
    # build steps, publishers, properties of the job itself
    "hudson.tasks.Shell",
    "hudson.tasks.BatchFile",
    "hudson.tasks.ArtifactArchiver",
    "hudson.tasks.Fingerprinter",
    "hudson.tasks.Mailer",
    "hudson.tasks.LogRotator",
    "hudson.tasks.junit.JUnitResultArchiver",
    "jenkins.model.BuildDiscarderProperty",
    "hudson.model.ParametersDefinitionProperty",
    "hudson.model.StringParameterDefinition",
    "hudson.model.BooleanParameterDefinition",
    "hudson.model.ChoiceParameterDefinition",
    "hudson.model.TextParameterDefinition",
    "hudson.model.PasswordParameterDefinition",
    # source control (credentials and URLs checked)
    "hudson.scm.NullSCM",
    "hudson.plugins.git.GitSCM",
    "hudson.plugins.git.BranchSpec",
    "hudson.plugins.git.UserRemoteConfig",
    "hudson.plugins.git.SubmoduleConfig",
    "hudson.plugins.git.extensions.impl.",
    "hudson.plugins.git.util.DefaultBuildChooser",
    "hudson.plugins.git.browser.",
    # triggers (job names checked)
    "hudson.triggers.SCMTrigger",
    "hudson.triggers.TimerTrigger",
    "jenkins.triggers.ReverseBuildTrigger",
    "hudson.tasks.BuildTrigger",
    "hudson.plugins.parameterizedtrigger.TriggerBuilder",
    "hudson.plugins.parameterizedtrigger.BuildTrigger",
    "hudson.plugins.parameterizedtrigger.BuildTriggerConfig",
    "hudson.plugins.parameterizedtrigger.BlockableBuildTriggerConfig",
    "hudson.plugins.parameterizedtrigger.BlockingBehaviour",
    "hudson.plugins.parameterizedtrigger.CurrentBuildParameters",
    "hudson.plugins.parameterizedtrigger.PredefinedBuildParameters",
    "hudson.plugins.parameterizedtrigger.FileBuildParameters",
    "hudson.plugins.parameterizedtrigger.BooleanParameters",
    "hudson.plugins.parameterizedtrigger.BooleanParameterConfig",
    "hudson.plugins.parameterizedtrigger.ResultCondition",
    # artifacts between jobs (the copied job's name checked)
    "hudson.plugins.copyartifact.CopyArtifact",
    "hudson.plugins.copyartifact.CopyArtifactPermissionProperty",
    "hudson.plugins.copyartifact.TriggeredBuildSelector",
    "hudson.plugins.copyartifact.StatusBuildSelector",
    "hudson.plugins.copyartifact.LastCompletedBuildSelector",
    "hudson.plugins.copyartifact.SpecificBuildSelector",
    "hudson.plugins.copyartifact.PermalinkBuildSelector",
    "hudson.plugins.copyartifact.SavedBuildSelector",
    # wrappers
    "hudson.plugins.build_timeout.BuildTimeoutWrapper",
    "hudson.plugins.build_timeout.impl.",
    "hudson.plugins.build_timeout.operations.",
    "hudson.plugins.timestamper.TimestamperBuildWrapper",
    "hudson.plugins.ansicolor.AnsiColorBuildWrapper",
    "hudson.plugins.ws_cleanup.PreBuildCleanup",
    "hudson.plugins.ws_cleanup.WsCleanup",
    "hudson.plugins.ws_cleanup.Pattern",
    "hudson.plugins.ws_cleanup.Pattern$PatternType",
    # credentials (every ID checked against the project's list)
    "org.jenkinsci.plugins.credentialsbinding.impl.SecretBuildWrapper",
    "org.jenkinsci.plugins.credentialsbinding.impl.StringBinding",
    "org.jenkinsci.plugins.credentialsbinding.impl.FileBinding",
    "org.jenkinsci.plugins.credentialsbinding.impl.ZipFileBinding",
    "org.jenkinsci.plugins.credentialsbinding.impl.UsernamePasswordBinding",
    "org.jenkinsci.plugins.credentialsbinding.impl.UsernamePasswordMultiBinding",
    "org.jenkinsci.plugins.credentialsbinding.impl.SSHUserPrivateKeyBinding",
    "org.jenkinsci.plugins.credentialsbinding.impl.CertificateMultiBinding",
    "com.cloudbees.jenkins.plugins.sshagent.SSHAgentBuildWrapper",
    # conditional steps: the wrapped step is judged by its own class
    "org.jenkinsci.plugins.conditionalbuildstep.singlestep.SingleConditionalBuilder",
    "org.jenkinsci.plugins.conditionalbuildstep.ConditionalBuilder",
    "org.jenkins_ci.plugins.run_condition.",
    # Pipeline (inline scripts must be sandboxed)
    "org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition",
    "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition",
    "org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty",
    "org.jenkinsci.plugins.workflow.job.properties.DisableConcurrentBuildsJobProperty",
    "org.jenkinsci.plugins.workflow.job.properties.DurabilityHintJobProperty",
    # Multibranch Pipeline projects (JJB project-type: multibranch, project_multibranch.py), every
    # class JJB 6.5 writes for them (an item group: its branch jobs come from the Jenkinsfile, run
    # sandboxed like CpsScmFlowDefinition's; sources' credentials and URLs checked)
    "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject",
    "org.jenkinsci.plugins.workflow.multibranch.WorkflowBranchProjectFactory",
    "org.jenkinsci.plugins.workflow.multibranch.DurabilityHintBranchProperty",
    "jenkins.branch.MultiBranchProject$BranchSourceList",
    "jenkins.branch.BranchSource",
    "jenkins.branch.MultiBranchProjectViewHolder",
    "jenkins.branch.MetadataActionFolderIcon",
    "com.cloudbees.hudson.plugins.folder.health.WorstChildHealthMetric",
    "com.cloudbees.hudson.plugins.folder.computed.PeriodicFolderTrigger",
    # property strategies (JJB property-strategies)
    "jenkins.branch.DefaultBranchPropertyStrategy",
    "jenkins.branch.NamedExceptionsBranchPropertyStrategy",
    "jenkins.branch.NamedExceptionsBranchPropertyStrategy$Named",
    "jenkins.branch.NamedExceptionsBranchPropertyStrategy$Named-array",
    "jenkins.branch.BranchProperty-array",
    "java.util.Arrays$ArrayList",
    "jenkins.branch.NoTriggerBranchProperty",
    "com.adobe.jenkins.github_pr_comment_build.TriggerPRCommentBranchProperty",
    "com.adobe.jenkins.github_pr_comment_build.TriggerPRLabelBranchProperty",
    "com.adobe.jenkins.github_pr_comment_build.TriggerPRReviewBranchProperty",
    "com.adobe.jenkins.github_pr_comment_build.TriggerPRUpdateBranchProperty",
    # build strategies (JJB build-strategies; basic-branch-build-strategies)
    "jenkins.branch.buildstrategies.basic.AllBranchBuildStrategyImpl",
    "jenkins.branch.buildstrategies.basic.AnyBranchBuildStrategyImpl",
    "jenkins.branch.buildstrategies.basic.BranchBuildStrategyImpl",
    "jenkins.branch.buildstrategies.basic.ChangeRequestBuildStrategyImpl",
    "jenkins.branch.buildstrategies.basic.NamedBranchBuildStrategyImpl",
    "jenkins.branch.buildstrategies.basic.NamedBranchBuildStrategyImpl$ExactNameFilter",
    "jenkins.branch.buildstrategies.basic.NamedBranchBuildStrategyImpl$RegexNameFilter",
    "jenkins.branch.buildstrategies.basic.NamedBranchBuildStrategyImpl$WildcardsNameFilter",
    "jenkins.branch.buildstrategies.basic.SkipInitialBuildOnFirstBranchIndexing",
    "jenkins.branch.buildstrategies.basic.TagBuildStrategyImpl",
    # branch sources (credentials and repository URLs checked: ``policy.sources``)
    "org.jenkinsci.plugins.github_branch_source.GitHubSCMSource",
    "com.cloudbees.jenkins.plugins.bitbucket.BitbucketSCMSource",
    "jenkins.plugins.gerrit.GerritSCMSource",
    "jenkins.plugins.git.GitSCMSource",
    # GitHub source traits (JJB github_scm; fork trust: everyone is denied below)
    "org.jenkinsci.plugins.github_branch_source.BranchDiscoveryTrait",
    "org.jenkinsci.plugins.github_branch_source.OriginPullRequestDiscoveryTrait",
    "org.jenkinsci.plugins.github_branch_source.ForkPullRequestDiscoveryTrait",
    "org.jenkinsci.plugins.github_branch_source.ForkPullRequestDiscoveryTrait$TrustContributors",
    "org.jenkinsci.plugins.github_branch_source.ForkPullRequestDiscoveryTrait$TrustPermission",
    "org.jenkinsci.plugins.github_branch_source.ForkPullRequestDiscoveryTrait$TrustNobody",
    "org.jenkinsci.plugins.github_branch_source.TagDiscoveryTrait",
    "org.jenkinsci.plugins.github_branch_source.SSHCheckoutTrait",
    "com.adobe.jenkins.disable_github_multibranch_status.DisableStatusUpdateTrait",
    "io.jenkins.plugins.checks.github.config.GitHubSCMSourceChecksTrait",
    "io.jenkins.plugins.checks.github.status.GitHubSCMSourceStatusChecksTrait",
    "org.jenkinsci.plugins.githubScmTraitNotificationContext.NotificationContextTrait",
    # Bitbucket source traits (JJB bitbucket_scm; of the fork trusts JJB writes, TrustContributors
    # and TrustPermission are GitHub's names, not the bitbucket plugin's: refused below)
    "com.cloudbees.jenkins.plugins.bitbucket.BranchDiscoveryTrait",
    "com.cloudbees.jenkins.plugins.bitbucket.OriginPullRequestDiscoveryTrait",
    "com.cloudbees.jenkins.plugins.bitbucket.ForkPullRequestDiscoveryTrait",
    "com.cloudbees.jenkins.plugins.bitbucket.ForkPullRequestDiscoveryTrait$TrustNobody",
    "com.cloudbees.jenkins.plugins.bitbucket.TagDiscoveryTrait",
    "com.cloudbees.jenkins.plugins.bitbucket.SSHCheckoutTrait",
    "com.cloudbees.jenkins.plugins.bitbucket.notifications.SkipNotificationsTrait",
    # Gerrit source traits (JJB gerrit_scm)
    "jenkins.plugins.gerrit.traits.ChangeDiscoveryTrait",
    "jenkins.plugins.gerrit.traits.FilterChecksTrait",
    # git traits, for every source (JJB git_scm and scm.git_extensions in trait mode); their
    # extensions are hudson.plugins.git.extensions.impl.*, allowed above
    "jenkins.plugins.git.traits.BranchDiscoveryTrait",
    "jenkins.plugins.git.traits.TagDiscoveryTrait",
    "jenkins.plugins.git.traits.IgnoreOnPushNotificationTrait",
    "jenkins.plugins.git.traits.RefSpecsSCMSourceTrait",
    "jenkins.plugins.git.traits.RefSpecsSCMSourceTrait$RefSpecTemplate",
    "jenkins.plugins.git.traits.LocalBranchTrait",
    "jenkins.plugins.git.traits.GitLFSPullTrait",
    "jenkins.plugins.git.traits.WipeWorkspaceTrait",
    "jenkins.plugins.git.traits.CleanAfterCheckoutTrait",
    "jenkins.plugins.git.traits.CleanBeforeCheckoutTrait",
    "jenkins.plugins.git.traits.UserIdentityTrait",
    "jenkins.plugins.git.traits.CloneOptionTrait",
    "jenkins.plugins.git.traits.SparseCheckoutPathsTrait",
    "jenkins.plugins.git.traits.SubmoduleOptionTrait",
    "jenkins.plugins.git.traits.CheckoutOptionTrait",
    "jenkins.plugins.git.traits.PruneStaleBranchTrait",
    "jenkins.plugins.git.traits.PruneStaleTagTrait",
    "jenkins.plugins.git.traits.AuthorInChangelogTrait",
    "jenkins.scm.impl.trait.RegexSCMHeadFilterTrait",
    "jenkins.scm.impl.trait.WildcardSCMHeadFilterTrait",
    "net.gleske.scmfilter.impl.trait.RegexSCMHeadFilterTrait",
    "net.gleske.scmfilter.impl.trait.RegexSCMOriginFilterTrait",
    "net.gleske.scmfilter.impl.trait.WildcardSCMHeadFilterTrait",
    "net.gleske.scmfilter.impl.trait.WildcardSCMOriginFilterTrait",
    # views
    "hudson.model.ListView",
    "hudson.model.View$PropertyList",
    "hudson.views.",
    "hudson.util.CaseInsensitiveComparator",
    "se.diabol.jenkins.pipeline.DeliveryPipelineView",
    "se.diabol.jenkins.pipeline.DeliveryPipelineView$ComponentSpec",
})

_CONTROLLER = "runs Groovy in the controller JVM, with the rights of Jenkins itself"
_MATRIX = "grants Jenkins permissions to any user or group"
_REACH = "names other jobs in fields the policy cannot judge"
_SHARED = "takes executors or locks other teams share"
_MANAGED_PIPELINE = ("runs a managed Pipeline script from the global config-file store, chosen by its ID, in every "
                     "branch job, outside the Groovy sandbox unless useSandbox is true (jenkins-security.md §1); "
                     "use project-type: multibranch with script-path: the repository's Jenkinsfile, always "
                     "sandboxed")
_ANY_FORK = ("trusts every fork's pull request: anyone who can fork the repository runs their own Jenkinsfile with "
             "the project's credentials, as the build's identity (SYSTEM by default); expected discover-pr-forks-"
             "trust: permission, contributors or nobody (on Bitbucket: nobody)")
_NO_BITBUCKET_TRUST = ("is no class of the bitbucket plugin (JJB writes GitHub's trust names for Bitbucket), so "
                       "Jenkins drops it and fork pull requests have no trust policy: use "
                       "`discover-pr-forks-trust: nobody`, or leave fork pull requests out")

DENIED: dict[str, Denial] = {
    # §1 of jenkins-security.md: controller-side code
    "hudson.plugins.groovy.SystemGroovy":
        Denial(Rule.CONTROLLER_CODE, _CONTROLLER + " (groovy plugin, SystemGroovy.java:83-100)"),
    "hudson.plugins.groovy.StringSystemScriptSource": Denial(Rule.CONTROLLER_CODE, _CONTROLLER),
    "hudson.plugins.groovy.FileSystemScriptSource": Denial(Rule.CONTROLLER_CODE, _CONTROLLER),
    "org.jvnet.hudson.plugins.groovypostbuild.GroovyPostbuildRecorder":
        Denial(Rule.CONTROLLER_CODE, _CONTROLLER + " (groovy-postbuild README)"),
    "org.jenkinsci.plugins.envinject.EnvInjectJobProperty":
        Denial(Rule.CONTROLLER_CODE, "evaluates Groovy in the controller (EnvInjectEnvVars.java:193-231)"),
    "org.jenkinsci.plugins.envinject.EnvInjectBuildWrapper":
        Denial(Rule.CONTROLLER_CODE, "evaluates Groovy in the controller (EnvInjectEnvVars.java:193-231)"),
    "org.jenkinsci.plugins.envinject.EnvInjectPasswordWrapper":
        Denial(Rule.CREDENTIAL, "can inject every global EnvInject password into the build"),
    "javaposse.jobdsl.plugin.ExecuteDslScripts":
        Denial(Rule.CONTROLLER_CODE, "creates, changes or deletes any job, the updaters too (job-dsl)"),
    "org.jenkinsci.plugins.configfiles.builder.ConfigFileBuildStep":
        Denial(Rule.CREDENTIAL, "managed files resolve in the global store and can embed credentials"),
    "org.jenkinsci.plugins.configfiles.buildwrapper.ConfigFileBuildWrapper":
        Denial(Rule.CREDENTIAL, "managed files resolve in the global store and can embed credentials"),
    "org.jenkinsci.plugins.managedscripts.ScriptBuildStep": Denial(Rule.CONTROLLER_CODE, "runs admin-owned scripts"),
    "org.jenkinsci.plugins.managedscripts.WinBatchBuildStep": Denial(Rule.CONTROLLER_CODE, "runs admin-owned scripts"),
    "hudson.plugins.emailext.ExtendedEmailPublisher":
        Denial(Rule.CONTROLLER_CODE,
               "pre- and post-send scripts run in the controller (ExtendedEmailPublisher.java:316-330)"),
    "org.jenkinsci.plugins.postbuildscript.PostBuildScript": Denial(Rule.CONTROLLER_CODE, _CONTROLLER),
    "jp.ikedam.jenkins.plugins.groovy_label_assignment.GroovyLabelAssignmentProperty":
        Denial(Rule.CONTROLLER_CODE, _CONTROLLER),
    "org.jenkinsci.plugins.scripttrigger.groovy.GroovyScriptTrigger": Denial(Rule.CONTROLLER_CODE, _CONTROLLER),
    "hudson.plugins.promoted_builds.JobPropertyImpl":
        Denial(Rule.CONTROLLER_CODE, "promotion processes may hold Groovy conditions run in the controller"),
    "org.jenkinsci.plugins.workflow.libs.FolderLibraries":
        Denial(Rule.CONTROLLER_CODE, "shadows the organisation's trusted shared libraries in the folder"),
    # multibranch-defaults: the Pipeline script is a managed file from the global config-file store,
    # not the team's Jenkinsfile (jenkins-security.md §1, the config-file-provider /
    # pipeline-multibranch-defaults row; JJB project_multibranch.py:66-73,320-326)
    "org.jenkinsci.pipeline.workflow.multibranch.defaults.PipelineBranchDefaultsProjectFactory":
        Denial(Rule.CONTROLLER_CODE, _MANAGED_PIPELINE),  # the package JJB's project-type multibranch writes
    "org.jenkinsci.plugins.pipeline.multibranch.defaults.PipelineBranchDefaultsProjectFactory":
        Denial(Rule.CONTROLLER_CODE, _MANAGED_PIPELINE),
    "org.jenkinsci.plugins.pipeline.multibranch.defaults.PipelineMultiBranchDefaultsProject":
        Denial(Rule.CONTROLLER_CODE, _MANAGED_PIPELINE),
    "org.biouno.unochoice.ChoiceParameter": Denial(Rule.CONTROLLER_CODE, _CONTROLLER + " when the page is opened"),
    "org.biouno.unochoice.CascadeChoiceParameter": Denial(Rule.CONTROLLER_CODE, _CONTROLLER),
    "org.biouno.unochoice.DynamicReferenceParameter": Denial(Rule.CONTROLLER_CODE, _CONTROLLER),
    "com.cwctravel.hudson.plugins.extended_choice_parameter.ExtendedChoiceParameterDefinition":
        Denial(Rule.CONTROLLER_CODE, _CONTROLLER + "; reads files on the controller (plugin is end of life)"),
    # §2: permissions and build identity
    "hudson.security.AuthorizationMatrixProperty": Denial(Rule.PERMISSIONS, _MATRIX),
    "com.cloudbees.hudson.plugins.folder.properties.AuthorizationMatrixProperty": Denial(Rule.PERMISSIONS, _MATRIX),
    "org.jenkinsci.plugins.authorizeproject.AuthorizeProjectProperty":
        Denial(Rule.PERMISSIONS, "chooses who the build runs as (AuthorizeProjectStrategy.java:135-168)"),
    "com.synopsys.arc.jenkins.plugins.ownership.jobs.JobOwnerJobProperty":
        Denial(Rule.PERMISSIONS, "the owner feeds role and build-identity strategies"),
    # A fork's pull request with its own Jenkinsfile: "All pull requests from forks will be treated as
    # trusted" (github-branch-source ForkPullRequestDiscoveryTrait/help-trust.html; the bitbucket
    # plugin's TrustEveryone likewise)
    "org.jenkinsci.plugins.github_branch_source.ForkPullRequestDiscoveryTrait$TrustEveryone":
        Denial(Rule.PERMISSIONS, _ANY_FORK),
    "com.cloudbees.jenkins.plugins.bitbucket.ForkPullRequestDiscoveryTrait$TrustEveryone":
        Denial(Rule.PERMISSIONS, _ANY_FORK),
    # JJB 6.5 writes these for discover-pr-forks-trust contributors (its default) and permission;
    # the bitbucket plugin has neither, only TrustTeamForks, TrustEveryone and TrustNobody
    # (bitbucket-branch-source impl/BitbucketPlugin.java:70-73), so Jenkins drops the trust on load.
    "com.cloudbees.jenkins.plugins.bitbucket.ForkPullRequestDiscoveryTrait$TrustContributors":
        Denial(Rule.PERMISSIONS, _NO_BITBUCKET_TRUST),
    "com.cloudbees.jenkins.plugins.bitbucket.ForkPullRequestDiscoveryTrait$TrustPermission":
        Denial(Rule.PERMISSIONS, _NO_BITBUCKET_TRUST),
    "com.cloudbees.hudson.plugins.folder.properties.FolderCredentialsProvider$FolderCredentialsProperty":
        Denial(Rule.CREDENTIAL, "a credential store on a folder; secrets belong in Jenkins, not in team YAML"),
    # §3: reaching other jobs through fields the policy does not read
    "org.jenkinsci.plugins.ParameterizedRemoteTrigger.RemoteBuildConfiguration":
        Denial(Rule.REACH, "triggers jobs through a URL with globally configured credentials"),
    "hudson.plugins.cloneworkspace.CloneWorkspaceSCM": Denial(Rule.REACH, _REACH),
    "hudson.plugins.templateproject.ProxyBuilder": Denial(Rule.REACH, "runs another job's build steps in this build"),
    "hudson.plugins.templateproject.ProxyPublisher": Denial(Rule.REACH, "runs another job's publishers in this build"),
    "com.tikal.jenkins.plugins.multijob.MultiJobBuilder": Denial(Rule.REACH, _REACH),
    "join.JoinTrigger": Denial(Rule.REACH, _REACH),
    "hudson.plugins.downstream_ext.DownstreamTrigger": Denial(Rule.REACH, _REACH),
    "au.com.centrumsystems.hudson.plugin.buildpipeline.trigger.BuildPipelineTrigger": Denial(Rule.REACH, _REACH),
    "org.jenkinsci.plugins.buildresulttrigger.BuildResultTrigger": Denial(Rule.REACH, _REACH),
    "hudson.plugins.copyartifact.DownstreamBuildSelector": Denial(Rule.REACH, _REACH),
    "hudson.plugins.copyartifact.BuildSelectorParameter": Denial(Rule.REACH, _REACH),
    "jenkins.branch.OrganizationFolder":
        Denial(Rule.PROJECT_TYPE, "an organisation folder (branch-api) creates a multibranch project for every "
               "repository its navigator finds in a GitHub organisation or Bitbucket team: jobs outside the "
               "project's services, whose configuration no policy sees; use project-type: multibranch, one per "
               "service"),
    "hudson.model.RunParameterDefinition": Denial(Rule.REACH, _REACH),
    # §4: where builds run
    "org.jvnet.jenkins.plugins.nodelabelparameter.LabelParameterDefinition":
        Denial(Rule.AGENT_LABEL, "lets whoever starts the build choose the agent"),
    "org.jvnet.jenkins.plugins.nodelabelparameter.NodeParameterDefinition":
        Denial(Rule.AGENT_LABEL, "lets whoever starts the build choose the agent"),
    "hudson.plugins.parameterizedtrigger.NodeParameters":
        Denial(Rule.AGENT_LABEL, "runs the triggered build on this build's agent, whatever its label"),
    "org.jvnet.jenkins.plugins.nodelabelparameter.parameterizedtrigger.NodeLabelBuildParameter":
        Denial(Rule.AGENT_LABEL, "chooses the triggered build's agent"),
    "com.cloudbees.jenkins.plugins.okidocki.DockerBuildWrapper":
        Denial(Rule.WORKSPACE, "runs privileged containers with host volumes (Docker.java:184-189)"),
    "com.cloudbees.jenkins.plugins.docker_build_env.DockerBuildWrapper":
        Denial(Rule.WORKSPACE, "runs privileged containers with host volumes (Docker.java:184-189)"),
    # §5: credentials
    "com.cloudbees.plugins.credentials.CredentialsParameterDefinition":
        Denial(Rule.CREDENTIAL, "lets whoever starts the build bind any credential the job can see"),
    "com.datapipe.jenkins.vault.VaultBuildWrapper":
        Denial(Rule.CREDENTIAL, "reads any secret the Vault credential can"),
    # §6: resources other teams share
    "hudson.plugins.throttleconcurrents.ThrottleJobProperty": Denial(Rule.SHARED_RESOURCES, _SHARED),
    "org.jenkins.plugins.lockableresources.RequiredResourcesProperty": Denial(Rule.SHARED_RESOURCES, _SHARED),
    "jenkins.advancedqueue.priority.strategy.PriorityJobProperty": Denial(Rule.SHARED_RESOURCES, _SHARED),
    "hudson.queueSorter.PrioritySorterJobProperty": Denial(Rule.SHARED_RESOURCES, _SHARED),
}

# Job kinds by their root element. Matrix jobs carry Groovy combination filters and label axes
# (JJB project_matrix.py); the rest are judged as a whole by the classes they hold. A root that is
# a DENIED class (an OrganizationFolder, a multibranch-defaults project) is refused by that entry.
PROJECT_TYPES = {"project", "flow-definition", "com.cloudbees.hudson.plugins.folder.Folder",
                 "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject",
                 "hudson.model.ListView", "se.diabol.jenkins.pipeline.DeliveryPipelineView"}
DENIED_PROJECT_TYPES = {
    "matrix-project": Denial(Rule.CONTROLLER_CODE, "matrix combination filters are Groovy run in the controller, "
                             "and label axes choose agents"),
}

# XStream aliases without a package (EnvInject registers bare tags: JJB properties.py:493,
# wrappers.py:1219).
ALIASES = {
    "EnvInjectJobProperty": "org.jenkinsci.plugins.envinject.EnvInjectJobProperty",
    "EnvInjectBuildWrapper": "org.jenkinsci.plugins.envinject.EnvInjectBuildWrapper",
    "EnvInjectPasswordWrapper": "org.jenkinsci.plugins.envinject.EnvInjectPasswordWrapper",
    "EnvInjectBuilder": "org.jenkinsci.plugins.envinject.EnvInjectBuilder",
}

_XSTREAM_ESCAPE = re.compile(r"_([_-])")


def java_name(tag: str) -> str:
    """A class written as an XStream element tag, back to its Java name: ``__`` is ``_`` and
    ``_-`` is ``$`` (core XStream2.java:435-436)."""
    return _XSTREAM_ESCAPE.sub(lambda m: "_" if m.group(1) == "_" else "$", tag)


_ALLOWED_PACKAGES = tuple(p for p in ALLOWED if p.endswith("."))


def is_allowed(name: str) -> bool:
    return name in ALLOWED or name.startswith(_ALLOWED_PACKAGES)
