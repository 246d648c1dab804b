// Plays the person at the device verification page of device_auth_server.mjs (oidc-provider):
// opens verification_uri_complete, confirms the code, signs in (any login), grants consent,
// following redirects, auto-submitting forms and keeping cookies with fetch, as a browser would.
//
// Usage: node device_user.mjs VERIFICATION_URI_COMPLETE [--deny] [--login NAME]
//   --deny  presses [ Abort ] on the confirmation page instead (the device then gets access_denied)
// Exits 0 once the page says the sign-in succeeded (or, with --deny, was aborted); otherwise
// prints what the last page said to stderr and exits 1.
const args = process.argv.slice(2);
const deny = args.includes('--deny');
const login = args.includes('--login') ? args[args.indexOf('--login') + 1] : 'device-user';
const start = args.find(a => a.startsWith('http'));
if (!start) { console.error('usage: device_user.mjs VERIFICATION_URI_COMPLETE [--deny] [--login NAME]'); process.exit(2); }

const cookies = new Map();
async function go(url, form) {
    for (let hops = 0; hops < 20; hops++) {
        const res = await fetch(url, {
            method: form ? 'POST' : 'GET',
            body: form && new URLSearchParams(form),
            headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
            redirect: 'manual',
        });
        for (const c of res.headers.getSetCookie()) {
            const [, name, value] = /^([^=]+)=([^;]*)/.exec(c);
            if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c)) cookies.delete(name); else cookies.set(name, value);
        }
        const location = res.headers.get('location');
        if (res.status >= 300 && res.status < 400 && location) { url = new URL(location, url).href; form = undefined; continue; }
        return { url, status: res.status, html: await res.text() };
    }
    throw new Error('too many redirects');
}

// The form's action and its named inputs' values.
function form(html, marker) {
    const found = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)].find(m => m[0].includes(marker));
    if (!found) return undefined;
    const fields = {};
    for (const [input] of found[2].matchAll(/<input\b[^>]*>/g)) {
        const name = /name="([^"]*)"/.exec(input)?.[1];
        if (name) fields[name] = /value="([^"]*)"/.exec(input)?.[1] ?? '';
    }
    return { action: /action="([^"]*)"/.exec(found[1])[1].replace(/&amp;/g, '&'), fields };
}

const text = html => html.replace(/<style[\s\S]*?<\/style>/g, '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();

let page = await go(start);
for (let step = 0; step < 10; step++) {
    const title = /<title>([^<]*)<\/title>/.exec(page.html)?.[1] ?? '';
    if (title === 'Sign-in Success' && !deny) { console.log('approved'); process.exit(0); }
    if (deny && /interrupted/.test(page.html)) { console.log('denied'); process.exit(0); }
    let next;
    if ((next = form(page.html, 'op.deviceConfirmForm'))) {
        if (deny) next.fields.abort = 'yes';
    } else if ((next = form(page.html, 'value="login"'))) {
        Object.assign(next.fields, { login, password: 'any' });
    } else if (!(next = form(page.html, 'value="consent"'))
        && !(page.html.includes('document.forms[0].submit()') && (next = form(page.html, '')))) {
        break; // the code-entry page (wrong or spent code), an error page, ...
    }
    page = await go(new URL(next.action, page.url).href, next.fields);
}
console.error(`device_user: stuck at ${page.url} (HTTP ${page.status}): ${text(page.html).slice(0, 300)}`);
process.exit(1);
