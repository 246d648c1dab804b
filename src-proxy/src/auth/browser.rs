//! Opening the sign-in page: the `BROWSER` program if set (given the URL as its one argument),
//! else the platform opener, started without a shell so no URL can be mis-quoted. Only http and
//! https URLs are ever opened, and the URL is always printed to stderr for the user to open by
//! hand. The opener's stdout is discarded: ours carries MCP messages.

use reqwest::Url;
use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::process::{Command, Stdio};

/// The program and arguments that open `url`.
fn opener_command(url: &Url, browser: Option<&Path>) -> (OsString, Vec<OsString>) {
    if let Some(browser) = browser {
        return (browser.as_os_str().to_owned(), vec![url.as_str().into()]);
    }
    if cfg!(target_os = "macos") {
        ("open".into(), vec![url.as_str().into()])
    } else if cfg!(windows) {
        // rundll32 hands the URL to the default browser without cmd.exe, so `&` needs no quoting.
        ("rundll32".into(), vec!["url.dll,FileProtocolHandler".into(), url.as_str().into()])
    } else {
        ("xdg-open".into(), vec![url.as_str().into()])
    }
}

/// Prints `url` to stderr and asks the browser to open it. The opener runs detached; failing to
/// start it is reported but the user can still open the printed URL.
pub fn open(url: &Url, browser: Option<&Path>) -> io::Result<()> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing to open a {} URL for sign-in", url.scheme()),
        ));
    }
    eprintln!("mcp-remote: to sign in, open this URL in your browser:\n  {url}");
    let (program, args) = opener_command(url, browser);
    let mut child =
        Command::new(&program).args(&args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
    // Reap the opener so it never lingers as a zombie.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn browser_variable_gets_the_url_as_one_argument() {
        let u = url("https://as.example/authorize?a=1&b=two%20words");
        let (program, args) = opener_command(&u, Some(Path::new("/opt/my browser/run")));
        assert_eq!(program, OsString::from("/opt/my browser/run"));
        assert_eq!(args, vec![OsString::from(u.as_str())]);
    }

    #[test]
    fn platform_opener_takes_no_shell() {
        let u = url("https://as.example/authorize?x=1&y=2");
        let (program, args) = opener_command(&u, None);
        assert_eq!(args.last().unwrap(), &OsString::from(u.as_str()));
        #[cfg(target_os = "macos")]
        assert_eq!(program, OsString::from("open"));
        #[cfg(windows)]
        assert_eq!(program, OsString::from("rundll32"));
        #[cfg(all(unix, not(target_os = "macos")))]
        assert_eq!(program, OsString::from("xdg-open"));
        assert_ne!(program, OsString::from("sh"));
        assert_ne!(program, OsString::from("cmd"));
    }

    #[test]
    fn only_web_urls_are_opened() {
        for bad in ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,hi"] {
            let e = open(&url(bad), Some(Path::new("/bin/true"))).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad}");
        }
    }
}
