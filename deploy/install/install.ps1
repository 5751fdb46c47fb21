# restic-fleet agent installer for Windows (PowerShell 5.1 or newer, as
# Administrator). The control plane serves it at /agent/install.ps1 with its
# own URL filled in:
#
#   & ([scriptblock]::Create((irm https://fleet.example.com/agent/install.ps1))) -Token <TOKEN>
#
# The same steps as install.sh: checks Node.js (>= 20), installs restic with
# winget when it is missing, downloads the agent and checks its SHA-256, enrols
# (once), restricts the config file to Administrators and SYSTEM, and installs
# the Windows service with node-windows. Running it again updates the agent and
# restarts the service; it never enrols twice.
#
#   -Token T      one-time enrolment token (web UI: Settings > Add host); first install only
#   -Server URL   the control plane (default: the one that served this script)
#   -Prefix DIR   put the agent and its config in DIR (default: the agent in
#                 %ProgramFiles%\restic-fleet, the config in %ProgramData%\restic-fleet\agent.yaml)
#   -NoService    install no service; print the command that runs the agent
#   -AllowInsecure  accept an http:// control plane on another machine (the agent secret and
#                 repository passwords then cross the network in clear)
param(
  [string]$Token = '',
  [string]$Server = '__RF_SERVER_URL__',
  [string]$Prefix = '',
  [switch]$NoService,
  [switch]$AllowInsecure
)

Set-StrictMode -Version 3
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12

$done = New-Object System.Collections.Generic.List[string]
function Say([string]$Message) { Write-Host "restic-fleet: $Message" }
function Fail([string]$Message) { throw "restic-fleet: error: $Message" }
function Did([string]$Message) { $done.Add("  - $Message") }

# Well-known SIDs, so the ACL is right whatever the Windows display language.
$AdministratorsSid = 'S-1-5-32-544'
$SystemSid = 'S-1-5-18'

$Server = $Server.TrimEnd('/')
if ($Server -notmatch '^https?://.+') { Fail "-Server must be the control plane's http(s) URL (got '$Server')" }
if ($Prefix) {
  $AgentDir = [IO.Path]::GetFullPath($Prefix)
  $Config = Join-Path $AgentDir 'agent.yaml'
} else {
  $AgentDir = Join-Path $env:ProgramFiles 'restic-fleet'
  $Config = Join-Path (Join-Path $env:ProgramData 'restic-fleet') 'agent.yaml'
}
$Agent = Join-Path $AgentDir 'restic-fleet-agent.js'

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
$IsAdmin = $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)
if (-not $NoService -and -not $IsAdmin) {
  Fail 'installing the Windows service needs an elevated PowerShell (Run as Administrator), or use -Prefix DIR -NoService'
}

# 1. Node.js >= 20
$nodeCmd = Get-Command node -ErrorAction SilentlyContinue
if (-not $nodeCmd) {
  Fail "Node.js 20 or newer is required, and no 'node' was found on PATH. Install it (winget install OpenJS.NodeJS.LTS, or https://nodejs.org/) and run this again."
}
$Node = $nodeCmd.Source
$nodeVersion = (& $Node -p 'process.versions.node').Trim()
$nodeMajor = 0
if (-not [int]::TryParse($nodeVersion.Split('.')[0], [ref]$nodeMajor)) { Fail "could not read the version of $Node" }
if ($nodeMajor -lt 20) {
  Fail "Node.js $nodeVersion ($Node) is too old: the agent needs Node.js 20 or newer. Upgrade it and run this again."
}
Did "Node.js $nodeVersion ($Node)"

# 2. restic
$resticCmd = Get-Command restic -ErrorAction SilentlyContinue
if ($env:RF_RESTIC_BIN) {
  Did "restic: $env:RF_RESTIC_BIN (RF_RESTIC_BIN)"
} elseif ($resticCmd) {
  Did "restic found: $($resticCmd.Source)"
} elseif ($IsAdmin -and (Get-Command winget -ErrorAction SilentlyContinue)) {
  Say 'restic not found; installing it with winget'
  & winget install --id restic.restic --exact --silent --accept-source-agreements --accept-package-agreements
  if ($LASTEXITCODE -ne 0) { Fail 'winget could not install restic (see above). Install restic and run this again.' }
  Did 'installed restic with winget (open a new shell to have it on PATH)'
} else {
  Say 'warning: restic not found; jobs fail until it is installed (as Administrator with winget this script installs it)'
  Did 'restic NOT found: install it (jobs fail until then)'
}

# 3. The agent: one file, checked against the SHA-256 the control plane publishes.
New-Item -ItemType Directory -Force -Path $AgentDir | Out-Null
$tmp = Join-Path $AgentDir ('.restic-fleet-agent.js.' + [Guid]::NewGuid().ToString('N'))
try {
  try {
    Invoke-WebRequest -UseBasicParsing -TimeoutSec 120 -Uri "$Server/agent/restic-fleet-agent.js" -OutFile $tmp
    $published = (Invoke-WebRequest -UseBasicParsing -TimeoutSec 120 -Uri "$Server/agent/restic-fleet-agent.js.sha256").Content
  } catch {
    Fail "could not download the agent from $Server ($($_.Exception.Message))"
  }
  if ($published -is [byte[]]) { $published = [Text.Encoding]::ASCII.GetString($published) }
  $expected = ($published.Trim() -split '\s+')[0].ToLowerInvariant()
  $actual = (Get-FileHash -Algorithm SHA256 -Path $tmp).Hash.ToLowerInvariant()
  if (-not $expected -or $expected -ne $actual) {
    Fail "the downloaded agent does not match its published SHA-256 (expected $expected, got $actual); nothing was changed. Run this again."
  }
  $newVersion = (& $Node $tmp --version).Trim()
  if ($LASTEXITCODE -ne 0) { Fail "the downloaded agent does not run with $Node" }
  $oldVersion = ''
  if (Test-Path $Agent) { $oldVersion = (& $Node $Agent --version).Trim() }
  Move-Item -Force -Path $tmp -Destination $Agent
} finally {
  Remove-Item -Force -ErrorAction SilentlyContinue -Path $tmp
}
if ($oldVersion) { Did "updated agent $oldVersion -> ${newVersion}: $Agent (SHA-256 $actual)" }
else { Did "installed agent ${newVersion}: $Agent (SHA-256 $actual)" }

# 4. Enrolment, once: a config with an agent_id means this host is enrolled already.
if ((Test-Path $Config) -and (Select-String -Quiet -Path $Config -Pattern '^agent_id:')) {
  Did "already enrolled; kept $Config"
  if ($Token) { Say 'note: this host is enrolled already, so the token was not used; revoke it in Settings if nobody else needs it' }
} else {
  if (-not $Token) { Fail '-Token is required for the first install (web UI: Settings > Add host)' }
  New-Item -ItemType Directory -Force -Path (Split-Path -Parent $Config) | Out-Null
  # The token travels in the environment, not on a command line other users can list.
  $env:RF_ENROL_TOKEN = $Token
  try {
    $insecure = @(if ($AllowInsecure) { '--allow-insecure' })
    & $Node $Agent enrol --server $Server --config $Config @insecure | Out-Null
    if ($LASTEXITCODE -ne 0) { Fail "enrolment with $Server failed (see above)" }
  } finally {
    Remove-Item Env:RF_ENROL_TOKEN -ErrorAction SilentlyContinue
  }
  Did "enrolled with $Server; config $Config"
}

# The config holds the agent secret: only Administrators and SYSTEM may read it.
& icacls $Config /inheritance:r /grant:r "*${AdministratorsSid}:(F)" "*${SystemSid}:(F)" | Out-Null
if ($LASTEXITCODE -ne 0) { Fail "could not restrict the permissions of $Config (icacls failed)" }
Did "config readable by Administrators and SYSTEM only"

# 5. The service (node-windows, installed beside the agent file, which loads it from there).
$runCmd = "node `"$Agent`" run --config `"$Config`""
if (-not $NoService) {
  $npm = Get-Command npm -ErrorAction SilentlyContinue
  if (-not $npm) { Fail 'npm (part of the Node.js installer) is needed to install node-windows for the service' }
  & $npm.Source install --prefix $AgentDir --no-audit --no-fund --omit=dev 'node-windows@1.0.0-beta.8' | Out-Null
  if ($LASTEXITCODE -ne 0) { Fail 'npm could not install node-windows (see above)' }
  $svc = Get-Service -Name 'resticfleetagent.exe', 'restic-fleet-agent' -ErrorAction SilentlyContinue | Select-Object -First 1
  if ($svc) {
    Restart-Service -InputObject $svc
    Did "restarted the Windows service $($svc.Name)"
  } else {
    & $Node $Agent service install --config $Config
    if ($LASTEXITCODE -ne 0) { Fail 'installing the Windows service failed (see above)' }
    Did 'installed and started the Windows service restic-fleet-agent'
  }
} elseif ($oldVersion) {
  Did 'no service (-NoService): restart the running agent to use the new file'
}

Write-Host ''
Write-Host 'restic-fleet agent install: done.'
$done | ForEach-Object { Write-Host $_ }
if ($NoService) {
  Write-Host ''
  Write-Host 'Run the agent with:'
  Write-Host $runCmd
}
