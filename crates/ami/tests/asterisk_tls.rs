//! AMI over TLS against a real Asterisk 22 configured with a certificate made at test time.

use std::net::TcpListener;
use std::time::Duration;

use clickdial_ami::{Auth, Client, Config, ConnectError, TlsConfig};
use clickdial_testsupport::Pbx;

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn logs_in_over_tls_with_a_verified_certificate() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("a self-signed certificate");
    let files = tempfile::tempdir().unwrap();
    let cert_path = files.path().join("ami.crt");
    let key_path = files.path().join("ami.key");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let tls_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tls_settings = format!(
        "tlsenable = yes\ntlsbindaddr = 127.0.0.1:{tls_port}\ntlscertfile = {}\ntlsprivatekey = {}",
        cert_path.display(),
        key_path.display()
    );
    let manager =
        clickdial_testsupport::manager_conf(&tls_settings, &[("clickdial", "call", "originate")]);
    let pbx = Pbx::builder()
        .conf("manager.conf", &manager)
        .start()
        .expect("Asterisk starts");
    let tls = TlsConfig::with_root_pem(cert.cert.pem().as_bytes(), "localhost").unwrap();
    let tls_addr = format!("127.0.0.1:{tls_port}");

    for auth in [Auth::Md5, Auth::Plaintext] {
        let config = Config::new(&tls_addr, "clickdial", "clickdial-secret")
            .unwrap()
            .auth(auth)
            .tls(tls.clone());
        let client = Client::connect(config)
            .await
            .unwrap_or_else(|e| panic!("{auth:?} login over TLS: {e}"));
        assert_eq!(client.banner().version(), "11.0.0");
        client.ping().await.unwrap();
        client.logoff().await.unwrap();
    }

    let plain_port_with_tls = Config::new(pbx.ami_addr().to_string(), "clickdial", "x")
        .unwrap()
        .tls(tls.clone());
    let err = Client::connect(plain_port_with_tls).await.unwrap_err();
    assert!(matches!(err, ConnectError::Tls { .. }), "{err}");

    let other_name = TlsConfig::with_root_pem(cert.cert.pem().as_bytes(), "pbx.example").unwrap();
    let err = Client::connect(
        Config::new(&tls_addr, "clickdial", "clickdial-secret")
            .unwrap()
            .tls(other_name),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, ConnectError::Tls { source, .. } if source.to_string().contains("not valid for name \"pbx.example\"")),
        "{err}"
    );

    let tls_port_in_plain_text = Config::new(&tls_addr, "clickdial", "x")
        .unwrap()
        .connect_timeout(Duration::from_millis(500));
    let err = Client::connect(tls_port_in_plain_text).await.unwrap_err();
    assert!(
        matches!(
            err,
            ConnectError::Timeout {
                stage: "sending its banner",
                ..
            }
        ),
        "{err}"
    );
}
