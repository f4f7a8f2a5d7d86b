//! The first contact with a real Asterisk 22: its AMI greets with a banner we parse.

use clickdial_ami::Banner;
use clickdial_testsupport::Pbx;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn real_asterisk_greets_with_an_ami_11_banner() {
    let pbx = Pbx::start().expect("Asterisk starts");
    let stream = TcpStream::connect(pbx.ami_addr())
        .await
        .expect("AMI accepts connections");
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .await
        .expect("AMI sends a banner line");
    assert!(
        line.ends_with("\r\n"),
        "banner line ends with CRLF: {line:?}"
    );
    let banner = Banner::parse(&line).expect("the banner parses");
    assert_eq!(banner.version(), "11.0.0", "Asterisk 22 speaks AMI 11.0.0");
}
