<#
.SYNOPSIS
  Registers (or, with -Uninstall, unregisters) the StoFlow Companion native messaging host
  com.stoflow.companion for the current Windows user.

.DESCRIPTION
  Writes one host manifest per flavour under %LOCALAPPDATA%\StoFlow\NativeMessagingHosts\
  (chrome\com.stoflow.companion.json for Chrome, Chromium, Edge, Brave and Vivaldi;
  firefox\com.stoflow.companion.json for Firefox) and, for every "windows" row of
  installer\browsers.tsv, creates the registry key <location>\com.stoflow.companion under
  HKEY_CURRENT_USER whose default value is the manifest's full path. Browsers that are not
  installed yet are registered too. No administrator rights are needed.

  Compatible with Windows PowerShell 5.1 and PowerShell 7. Run it with:
    powershell -ExecutionPolicy Bypass -File installer\install.ps1 [-HostPath C:\path\stoflow-host.exe]

.PARAMETER HostPath
  The stoflow-host executable the manifests point to. Default: ..\bin\stoflow-host.exe next to this
  script, else stoflow-host.exe found in PATH.

.PARAMETER Browser
  Only these browsers (chrome, chromium, edge, brave, vivaldi, firefox, all). Default: all.

.PARAMETER Uninstall
  Remove the registry keys and manifest files instead. A registry key shared with a browser that
  is not selected is kept.

.PARAMETER InstallDir
  Where the manifests go. Default: %LOCALAPPDATA%\StoFlow.

.PARAMETER DryRun
  Print what would be done; change nothing.

.PARAMETER ListTargets
  Print the parsed windows rows (browser, flavour, registry key, manifest path) and exit.

.PARAMETER Quiet
  Print errors only.
#>
[CmdletBinding()]
param(
    [string]$HostPath = '',
    [string[]]$Browser = @(),
    [switch]$Uninstall,
    [string]$InstallDir = '',
    [switch]$DryRun,
    [switch]$ListTargets,
    [switch]$Quiet
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$HostName = 'com.stoflow.companion'
$ManifestFileName = "$HostName.json"
$AllBrowsers = @('chrome', 'chromium', 'edge', 'brave', 'vivaldi', 'firefox')
$ScriptDir = $PSScriptRoot
$TablePath = Join-Path $ScriptDir 'browsers.tsv'
$TemplateDir = Join-Path (Split-Path -Parent $ScriptDir) 'manifest'

function Say([string]$Message) {
    if (-not $Quiet) { Write-Output $Message }
}

function Fail([string]$Message) {
    [Console]::Error.WriteLine("install.ps1: error: $Message")
    exit 1
}

# Reads browsers.tsv with the rules written at its top: '#' lines and blank lines skipped, the first
# other line is the header, then rows of exactly 5 tab-separated fields. Returns the windows rows.
function Read-WindowsRows([string]$Path) {
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) { Fail "cannot read the browser table $Path" }
    $rows = @()
    $seenHeader = $false
    $lineNo = 0
    foreach ($raw in [System.IO.File]::ReadAllLines($Path, [System.Text.Encoding]::UTF8)) {
        $lineNo++
        $line = $raw.TrimEnd("`r")
        if ($line -eq '' -or $line.StartsWith('#')) { continue }
        $fields = $line.Split([char]9)
        if (-not $seenHeader) {
            if (($fields -join ' ') -ne 'os scope browser flavour location') {
                Fail "${Path}:${lineNo}: expected the header 'os<TAB>scope<TAB>browser<TAB>flavour<TAB>location'"
            }
            $seenHeader = $true
            continue
        }
        if ($fields.Count -ne 5 -or $fields[4] -eq '') { Fail "${Path}:${lineNo}: expected 5 tab-separated fields" }
        if ($AllBrowsers -notcontains $fields[2]) { Fail "${Path}:${lineNo}: unknown browser '$($fields[2])'" }
        if (@('chrome', 'firefox') -notcontains $fields[3]) { Fail "${Path}:${lineNo}: unknown flavour '$($fields[3])'" }
        if ($fields[0] -ne 'windows') { continue }
        if ($fields[1] -ne 'user') { Fail "${Path}:${lineNo}: only per-user (HKCU) windows rows are supported" }
        if (-not $fields[4].StartsWith('HKCU\')) { Fail "${Path}:${lineNo}: a windows location must start with HKCU\" }
        $rows += New-Object PSObject -Property @{
            Browser = $fields[2]
            Flavour = $fields[3]
            # Subkey of HKEY_CURRENT_USER: the location without "HKCU\", then "\com.stoflow.companion"
            SubKey  = $fields[4].Substring(5) + '\' + $HostName
        }
    }
    if (-not $seenHeader) { Fail "${Path}: no header row" }
    return $rows
}

function Get-SelectedBrowsers {
    if ($Browser.Count -eq 0) { return $AllBrowsers }
    $wanted = @()
    foreach ($item in $Browser) {
        foreach ($name in $item.Split(',')) {
            $n = $name.Trim().ToLowerInvariant()
            if ($n -eq 'all') { $wanted += $AllBrowsers; continue }
            if ($n -eq 'msedge') { $n = 'edge' }
            if ($AllBrowsers -notcontains $n) { Fail "unknown browser '$name' (known: $($AllBrowsers -join ', '))" }
            $wanted += $n
        }
    }
    return @($AllBrowsers | Where-Object { $wanted -contains $_ })
}

function Resolve-HostPath {
    $candidate = $HostPath
    if ($candidate -eq '') {
        $packaged = Join-Path (Join-Path (Split-Path -Parent $ScriptDir) 'bin') 'stoflow-host.exe'
        if (Test-Path -LiteralPath $packaged -PathType Leaf) {
            $candidate = $packaged
        } else {
            $cmd = Get-Command 'stoflow-host.exe' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
            if ($null -eq $cmd) { Fail "cannot find stoflow-host.exe (looked in $packaged and in PATH); pass -HostPath C:\path\to\stoflow-host.exe" }
            $candidate = $cmd.Path
        }
    }
    # Relative paths are relative to the current directory, as the user typed them.
    $full = [System.IO.Path]::GetFullPath([System.IO.Path]::Combine((Get-Location -PSProvider FileSystem).ProviderPath, $candidate))
    if (Test-Path -LiteralPath $full -PathType Container) { Fail "host path is a directory, not an executable: $full" }
    if (-not (Test-Path -LiteralPath $full -PathType Leaf)) { Fail "host executable not found: $full" }
    $ext = [System.IO.Path]::GetExtension($full).ToLowerInvariant()
    if (@('.exe', '.bat', '.cmd') -notcontains $ext) { Fail "host must be an .exe (or .bat/.cmd) file: $full" }
    return $full
}

function ConvertTo-JsonStringBody([string]$Value) {
    $sb = New-Object System.Text.StringBuilder
    foreach ($ch in $Value.ToCharArray()) {
        if ($ch -eq '\') { [void]$sb.Append('\\') }
        elseif ($ch -eq '"') { [void]$sb.Append('\"') }
        elseif ([int]$ch -lt 0x20) { [void]$sb.Append(('\u{0:x4}' -f [int]$ch)) }
        else { [void]$sb.Append($ch) }
    }
    return $sb.ToString()
}

function Get-ManifestText([string]$Flavour, [string]$Exe) {
    $template = Join-Path $TemplateDir "$Flavour.json.in"
    if (-not (Test-Path -LiteralPath $template -PathType Leaf)) { Fail "missing manifest template $template" }
    $text = [System.IO.File]::ReadAllText($template, [System.Text.Encoding]::UTF8)
    if (-not $text.Contains('@HOST_PATH@')) { Fail "template $template has no @HOST_PATH@ placeholder" }
    # String.Replace is literal: no regex, so backslashes in the path stay as escaped.
    return $text.Replace('@HOST_PATH@', (ConvertTo-JsonStringBody $Exe))
}

# Writes Text to Path atomically (temp file in the same directory, then replace), UTF-8 without BOM.
function Write-FileAtomic([string]$Path, [string]$Text) {
    $dir = Split-Path -Parent $Path
    if (-not (Test-Path -LiteralPath $dir -PathType Container)) { [void](New-Item -ItemType Directory -Path $dir -Force) }
    if ((Test-Path -LiteralPath $Path -PathType Leaf) -and ([System.IO.File]::ReadAllText($Path) -ceq $Text)) { return 'unchanged' }
    $existed = Test-Path -LiteralPath $Path -PathType Leaf
    $tmp = Join-Path $dir (".$ManifestFileName." + [System.Guid]::NewGuid().ToString('N') + '.tmp')
    [System.IO.File]::WriteAllText($tmp, $Text, (New-Object System.Text.UTF8Encoding($false)))
    try {
        if ($existed) { [System.IO.File]::Replace($tmp, $Path, [NullString]::Value) } else { [System.IO.File]::Move($tmp, $Path) }
    } catch {
        Remove-Item -LiteralPath $tmp -Force -ErrorAction SilentlyContinue
        throw
    }
    if ($existed) { return 'updated' }
    return 'written'
}

function Get-DefaultValue([string]$SubKey) {
    $key = [Microsoft.Win32.Registry]::CurrentUser.OpenSubKey($SubKey)
    if ($null -eq $key) { return $null }
    try { return $key.GetValue('') } finally { $key.Close() }
}

# --- main ---------------------------------------------------------------------------------------

if ($InstallDir -eq '') {
    if (-not $env:LOCALAPPDATA) { Fail 'LOCALAPPDATA is not set; pass -InstallDir' }
    $InstallDir = Join-Path $env:LOCALAPPDATA 'StoFlow'
}
$ManifestRoot = Join-Path $InstallDir 'NativeMessagingHosts'
$rows = @(Read-WindowsRows $TablePath)
$selected = @(Get-SelectedBrowsers)

function Get-ManifestPath([string]$Flavour) {
    return (Join-Path (Join-Path $ManifestRoot $Flavour) $ManifestFileName)
}

if ($ListTargets) {
    foreach ($row in $rows) {
        Write-Output ("{0}`t{1}`tHKCU\{2}`t{3}" -f $row.Browser, $row.Flavour, $row.SubKey, (Get-ManifestPath $row.Flavour))
    }
    exit 0
}

$selectedRows = @($rows | Where-Object { $selected -contains $_.Browser })
$done = @{}

if (-not $Uninstall) {
    $exe = Resolve-HostPath
    Say "StoFlow Companion: registering native messaging host $HostName for $env:USERNAME"
    Say "  host: $exe"
    $written = @{}
    foreach ($row in $selectedRows) {
        $manifest = Get-ManifestPath $row.Flavour
        if (-not $written.ContainsKey($row.Flavour)) {
            $text = Get-ManifestText $row.Flavour $exe
            if ($DryRun) { $state = 'checked' } else { $state = Write-FileAtomic $manifest $text }
            Say ("  manifest  {0,-10} {1}" -f $state, $manifest)
            $written[$row.Flavour] = $true
        }
        if ($done.ContainsKey($row.SubKey)) {
            Say ("  {0,-9} (same key) HKCU\{1}" -f $row.Browser, $row.SubKey)
            continue
        }
        $done[$row.SubKey] = $true
        $current = Get-DefaultValue $row.SubKey
        if ($current -eq $manifest) {
            $state = 'unchanged'
        } elseif ($DryRun) {
            $state = 'would set'
        } else {
            $key = [Microsoft.Win32.Registry]::CurrentUser.CreateSubKey($row.SubKey)
            try { $key.SetValue('', $manifest, [Microsoft.Win32.RegistryValueKind]::String) } finally { $key.Close() }
            $state = 'set'
        }
        Say ("  {0,-9} {1,-10} HKCU\{2} = {3}" -f $row.Browser, $state, $row.SubKey, $manifest)
    }
    Say 'Done. Restart the browser if it was running, then load the extension (docs\install.md).'
    exit 0
}

# -Uninstall
Say "StoFlow Companion: unregistering native messaging host $HostName for $env:USERNAME"
$goneKeys = @{}
foreach ($row in $selectedRows) {
    if ($done.ContainsKey($row.SubKey)) { continue }
    $done[$row.SubKey] = $true
    $users = @($rows | Where-Object { $_.SubKey -eq $row.SubKey -and ($selected -notcontains $_.Browser) } | ForEach-Object { $_.Browser })
    $current = Get-DefaultValue $row.SubKey
    if ($null -eq $current) {
        $state = 'not present'
    } elseif ($users.Count -gt 0) {
        $state = "kept (used by $($users -join ', '))"
    } elseif ($DryRun) {
        $state = 'would remove'
        $goneKeys[$row.SubKey] = $true
    } else {
        [Microsoft.Win32.Registry]::CurrentUser.DeleteSubKeyTree($row.SubKey, $false)
        $state = 'removed'
        $goneKeys[$row.SubKey] = $true
    }
    Say ("  {0,-9} {1,-12} HKCU\{2}" -f $row.Browser, $state, $row.SubKey)
}
# A manifest file goes once no remaining registry key of ours points to it.
foreach ($flavour in @('chrome', 'firefox')) {
    $manifest = Get-ManifestPath $flavour
    if (-not (Test-Path -LiteralPath $manifest -PathType Leaf)) { continue }
    $stillUsed = $false
    foreach ($row in $rows) {
        if ($row.Flavour -ne $flavour) { continue }
        if ($goneKeys.ContainsKey($row.SubKey)) { continue }
        if ((Get-DefaultValue $row.SubKey) -eq $manifest) { $stillUsed = $true }
    }
    if ($stillUsed) {
        Say "  manifest  kept         $manifest"
    } elseif ($DryRun) {
        Say "  manifest  would remove $manifest"
    } else {
        $text = [System.IO.File]::ReadAllText($manifest)
        if ($text -match '"name"\s*:\s*"com\.stoflow\.companion"') {
            Remove-Item -LiteralPath $manifest -Force
            Say "  manifest  removed      $manifest"
        } else {
            [Console]::Error.WriteLine("install.ps1: warning: $manifest does not name $HostName; left alone")
        }
    }
}
Say 'Done.'
exit 0
