//! Each credential source through the gateway: IMDSv2, container credentials (ECS, Pod Identity), web identity and AssumeRole through STS, shared files, static keys, named sources, environment keys.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imdsv2_instance_role_signs_both_route_kinds() {
    let issuer = Issuer::new("IMDS", Duration::from_secs(3600));
    let imds = imds_stub(issuer.clone()).await;
    // The stand-in is strict: a GET without the session token is refused.
    let direct = client()
        .get(format!(
            "{}/latest/meta-data/iam/security-credentials/",
            imds.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status().as_u16(), 401);

    let emu = emulator(&[&issuer], &[]);
    let mut env = Env::new();
    env.set("AWS_EC2_METADATA_DISABLED", "false")
        .set("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds.url());
    let metrics = metrics_addr();
    let gw = env.gateway(
        &GatewayConfig::new()
            .metrics(metrics)
            .routes(both_kinds(emu.http, "imds")),
    );
    let c = client();
    let want = Seen::issued(&issuer, 1);
    assert_eq!(ready(&c, &gw, "uri-imds").await, want);
    assert_eq!(call(&c, &gw, "fn-imds").await.unwrap(), want);
    assert_eq!(issuer.count(), 1, "both routes share one source");

    // IMDSv2: the token PUT (with its TTL) before any GET, and every GET carries the token:
    // one for the role name, one for its credentials.
    let seen: Vec<Req> = imds.requests().into_iter().skip(1).collect();
    let put = seen
        .iter()
        .position(|r| r.method == "PUT" && r.path == "/latest/api/token")
        .expect("token PUT");
    assert!(seen[put]
        .header("x-aws-ec2-metadata-token-ttl-seconds")
        .is_some());
    let first_get = seen.iter().position(|r| r.method == "GET").expect("GET");
    assert!(put < first_get, "{seen:#?}");
    let gets: Vec<&Req> = seen.iter().filter(|r| r.method == "GET").collect();
    assert_eq!(gets.len(), 2, "role name, then credentials: {seen:#?}");
    for get in gets {
        assert_eq!(get.header("x-aws-ec2-metadata-token"), Some(IMDS_TOKEN));
    }
    // One refresh, none failed, the credentials' hour ahead.
    assert_eq!(refreshes(metrics, "route:uri-imds"), (1, 0));
    let left = expiry_seconds(metrics, "route:uri-imds").expect("an expiry");
    assert!(left > 3500.0 && left <= 3600.0, "{left}");
    let log = clean_log(&gw);
    assert!(
        log.contains("credentials: route:uri-imds: refreshed"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_credentials_ecs_token_and_pod_identity_token_file() {
    let issuer = Issuer::new("ECSC", Duration::from_secs(3600));
    let token = "CANARY-container-authorization-token";
    let ecs = ecs_stub(issuer.clone(), token, Arc::new(AtomicU8::new(0))).await;
    let emu = emulator(&[&issuer], &[]);
    let uri = format!("{}/creds", ecs.url());
    let routes = |tag: &str| GatewayConfig::new().routes(both_kinds(emu.http, tag));
    let c = client();

    // ECS: the token in AWS_CONTAINER_AUTHORIZATION_TOKEN.
    let mut env = Env::new();
    env.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri)
        .set("AWS_CONTAINER_AUTHORIZATION_TOKEN", token);
    let ecs_gw = env.gateway(&routes("ecs"));
    let first = Seen::issued(&issuer, 1);
    assert_eq!(ready(&c, &ecs_gw, "uri-ecs").await, first);
    assert_eq!(call(&c, &ecs_gw, "fn-ecs").await.unwrap(), first);

    // EKS Pod Identity: the token in a file (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE).
    let mut env = Env::new();
    let token_file = env.file("pod-identity-token", token);
    env.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri)
        .set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &token_file);
    let pod_gw = env.gateway(&routes("pod"));
    let second = Seen::issued(&issuer, 2);
    assert_eq!(ready(&c, &pod_gw, "fn-pod").await, second);
    assert_eq!(call(&c, &pod_gw, "uri-pod").await.unwrap(), second);

    assert_eq!(issuer.count(), 2);
    let requests = ecs.requests();
    assert_eq!(requests.len(), 2);
    for req in requests {
        assert_eq!((req.method.as_str(), req.path.as_str()), ("GET", "/creds"));
        assert_eq!(req.header("authorization"), Some(token));
    }
    clean_log(&ecs_gw);
    clean_log(&pod_gw);

    // A wrong token is refused: that source stays empty, counts failures, and both route
    // kinds answer 503 `credentials_unavailable`.
    let mut env = Env::new();
    let wrong_file = env.file("pod-identity-token", "CANARY-wrong-token");
    env.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri)
        .set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &wrong_file);
    let metrics = metrics_addr();
    let wrong_gw = env.gateway(&routes("wrong").metrics(metrics));
    wait_blocking("a failed refresh", Duration::from_secs(15), || {
        refreshes(metrics, "route:uri-wrong").1 >= 1
    });
    for route in ["uri-wrong", "fn-wrong"] {
        let err = call(&c, &wrong_gw, route).await.unwrap_err();
        assert!(
            err.contains("503") && err.contains("credentials_unavailable"),
            "{err}"
        );
    }
    assert_eq!(refreshes(metrics, "route:uri-wrong").0, 0);
    assert_eq!(issuer.count(), 2, "nothing issued on a wrong token");
    let log = clean_log(&wrong_gw);
    assert!(
        log.contains("credentials: route:uri-wrong: refresh failed"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_identity_and_assume_role_on_it_through_sts() {
    let roles = Issuer::new("ROLE", Duration::from_secs(3600));
    let web = Issuer::new("WEBI", Duration::from_secs(3600));
    let sts = sts_stub(roles.clone(), web.clone()).await;
    let emu = emulator(&[&roles, &web], &[]);
    let mut env = Env::new();
    let jwt = "eyJhbGciOiJSUzI1NiJ9.CANARY-web-identity-jwt.c2lnbmF0dXJl";
    let token_file = env.file("eks-token", jwt);
    env.set("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file)
        .set("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa-role")
        .set("AWS_ROLE_SESSION_NAME", "lambda-proxy-irsa")
        .set("AWS_ENDPOINT_URL_STS", &sts.url());
    let invoker = "arn:aws:iam::210987654321:role/invoker";
    let external_id = "CANARY-external-id-42";
    // The same AssumeRole spelled with each route kind's names: one source, one STS call.
    let uri_xacct = [
        ("assume_role_arn", invoker),
        ("role_session_name", "lambda-proxy-xacct"),
        ("external_id", external_id),
    ]
    .into_iter()
    .fold(uri_route(emu.http, "uri-xacct"), |r, (k, v)| iam(r, k, v));
    let fn_xacct = fn_route(emu.http, "fn-xacct")
        .set("aws_assume_role_arn", invoker)
        .set("aws_role_session_name", "lambda-proxy-xacct")
        .set("aws_assume_role_external_id", external_id)
        .set("aws_assume_role_duration", 1800);
    let config = GatewayConfig::new()
        .routes(both_kinds(emu.http, "irsa"))
        .route(iam(uri_xacct, "duration_seconds", 1800))
        .route(fn_xacct);
    let gw = env.gateway(&config);
    let c = client();

    let irsa = ready(&c, &gw, "uri-irsa").await;
    assert!(irsa.key.starts_with("ASIAWEBI"), "{irsa:?}");
    assert_eq!(irsa.token, web.token_of(&irsa.key));
    assert_eq!(call(&c, &gw, "fn-irsa").await.unwrap(), irsa);
    let xacct = ready(&c, &gw, "fn-xacct").await;
    assert_eq!(xacct, Seen::issued(&roles, 1));
    assert_eq!(call(&c, &gw, "uri-xacct").await.unwrap(), xacct);

    let wi = sts_requests(&sts, "AssumeRoleWithWebIdentity");
    assert!(!wi.is_empty());
    for (req, form) in &wi {
        assert_eq!(form["RoleArn"], "arn:aws:iam::123456789012:role/irsa-role");
        assert_eq!(form["RoleSessionName"], "lambda-proxy-irsa");
        assert_eq!(form["WebIdentityToken"], jwt);
        assert!(req.header("authorization").is_none(), "unsigned call");
    }
    let ar = sts_requests(&sts, "AssumeRole");
    assert_eq!(ar.len(), 1, "one source for both routes");
    let (req, form) = &ar[0];
    assert_eq!(form["RoleArn"], invoker);
    assert_eq!(form["RoleSessionName"], "lambda-proxy-xacct");
    assert_eq!(form["ExternalId"], external_id);
    assert_eq!(form["DurationSeconds"], "1800");
    let base = signed_with(req);
    assert!(
        base.starts_with("ASIAWEBI"),
        "signed with web identity keys"
    );
    assert_eq!(stand_in_token(req).map(String::from), web.token_of(&base));
    // STS is signed in the route's region.
    assert!(req
        .header("authorization")
        .unwrap()
        .contains(&format!("/{REGION}/sts/aws4_request")));
    clean_log(&gw);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_files_static_keys_named_sources_and_environment_keys() {
    let roles = Issuer::new("ROLE", Duration::from_secs(3600));
    let sts = sts_stub(roles.clone(), Issuer::new("WEBI", Duration::from_secs(60))).await;
    // A second STS for a plain AssumeRole (no external id, session name or duration given),
    // issuing credentials that live 900 s.
    let plain_roles = Issuer::new("PLAN", Duration::from_secs(900));
    let plain_sts = sts_stub(
        plain_roles.clone(),
        Issuer::new("WEBI", Duration::from_secs(60)),
    )
    .await;
    let prod = StaticKey::new("AKIAPROD000000000000", "prod");
    let default = StaticKey::long_term("AKIADEFAULT000000000", "default");
    let staging = StaticKey::long_term("AKIASTAGING000000000", "staging");
    let process = StaticKey {
        token: Some(format!("{CANARY}-process-token")),
        ..StaticKey::long_term("ASIAPROCESS000000001", "process")
    };
    let on_uri = StaticKey::new("AKIASTATICURI0000001", "uri");
    let on_fn = StaticKey::new("AKIASTATICFN00000001", "fn");
    let named_base = StaticKey::new("AKIANAMEDBASE0000001", "named");
    let plain_base = StaticKey::new("AKIAPLAINBASE0000001", "plain");
    let from_env = StaticKey::new("AKIAENVIRONMENT00001", "env");
    let late = StaticKey::new("AKIASTATICLATE000001", "late");
    let emu = emulator(
        &[&roles, &plain_roles],
        &[
            &prod, &default, &staging, &process, &on_uri, &on_fn, &from_env, &late,
        ],
    );

    let mut env = Env::new();
    let credentials = env.file(
        "credentials",
        &format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n\n\
             [prod]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n\n\
             [staging]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            default.id,
            default.secret,
            prod.id,
            prod.secret,
            prod.token.as_deref().unwrap(),
            staging.id,
            staging.secret,
        ),
    );
    let expiry = iso8601(SystemTime::now() + Duration::from_secs(1200));
    let process_json = format!(
        r#"{{"Version": 1, "AccessKeyId": "{}", "SecretAccessKey": "{}", "SessionToken": "{}", "Expiration": "{expiry}"}}"#,
        process.id,
        process.secret,
        process.token.as_deref().unwrap()
    );
    let config_file = env.file(
        "config",
        &format!(
            "[profile chained]\nrole_arn = arn:aws:iam::123456789012:role/chained\n\
             source_profile = prod\nrole_session_name = chained-session\n\
             external_id = CANARY-chained-external-id\nregion = us-east-1\n\n\
             [profile process]\ncredential_process = printf '%s' '{process_json}'\n"
        ),
    );
    env.set("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .set("AWS_CONFIG_FILE", &config_file)
        .set("AWS_PROFILE", "staging")
        .set("AWS_ENDPOINT_URL_STS", &sts.url());
    let static_uri = [
        ("accesskey", on_uri.id),
        ("secretkey", &on_uri.secret),
        ("session_token", on_uri.token.as_deref().unwrap()),
    ]
    .into_iter()
    .fold(uri_route(emu.http, "uri-static"), |r, (k, v)| iam(r, k, v));
    let plain_role = [
        ("accesskey", plain_base.id),
        ("secretkey", &plain_base.secret),
        ("session_token", plain_base.token.as_deref().unwrap()),
        ("assume_role_arn", "arn:aws:iam::123456789012:role/plain"),
        ("sts_endpoint_url", &plain_sts.url()),
    ]
    .into_iter()
    .fold(uri_route(emu.http, "uri-plainrole"), |r, (k, v)| {
        iam(r, k, v)
    });
    let metrics = metrics_addr();
    let config = named_role(
        GatewayConfig::new().metrics(metrics),
        "xacct",
        &named_base,
        &[
            ("assume_role_arn", "arn:aws:iam::210987654321:role/named"),
            ("role_session_name", "named-session"),
            ("external_id", "CANARY-named-external-id"),
            ("sts_endpoint_url", &sts.url()),
        ],
    )
    .routes([
        iam(uri_route(emu.http, "uri-prod"), "profile", "prod"),
        fn_route(emu.http, "fn-chained").set("aws_profile", "chained"),
        fn_route(emu.http, "fn-default").set("aws_profile", "default"),
        iam(uri_route(emu.http, "uri-process"), "profile", "process"),
        uri_route(emu.http, "uri-staging"),
        static_uri,
        fn_route(emu.http, "fn-static")
            .set("aws_key", on_fn.id)
            .set("aws_secret", &on_fn.secret)
            .set("aws_session_token", on_fn.token.as_deref().unwrap()),
        plain_role,
        iam(uri_route(emu.http, "uri-named"), "credentials", "xacct"),
        fn_route(emu.http, "fn-named").set("credentials", "xacct"),
    ]);
    let gw = env.gateway(&config);
    let c = client();

    assert_eq!(ready(&c, &gw, "uri-prod").await, prod.seen());
    assert_eq!(ready(&c, &gw, "fn-default").await, default.seen());
    // AWS_PROFILE picks the profile of the default chain.
    assert_eq!(ready(&c, &gw, "uri-staging").await, staging.seen());
    assert_eq!(ready(&c, &gw, "uri-process").await, process.seen());
    assert_eq!(ready(&c, &gw, "uri-static").await, on_uri.seen());
    assert_eq!(ready(&c, &gw, "fn-static").await, on_fn.seen());
    assert_eq!(
        ready(&c, &gw, "uri-plainrole").await,
        Seen::issued(&plain_roles, 1)
    );
    let chained = ready(&c, &gw, "fn-chained").await;
    let xacct = ready(&c, &gw, "uri-named").await;
    assert_eq!(call(&c, &gw, "fn-named").await.unwrap(), xacct);
    let mut both = [chained.clone(), xacct.clone()];
    both.sort();
    assert_eq!(both, [Seen::issued(&roles, 1), Seen::issued(&roles, 2)]);

    // Long-term keys never expire; credential_process and STS credentials do, when they say.
    assert_eq!(expiry_seconds(metrics, "route:uri-prod"), None);
    let left = expiry_seconds(metrics, "route:uri-process").expect("an expiry");
    assert!(left > 1100.0 && left <= 1200.0, "{left}");
    let left = expiry_seconds(metrics, "route:uri-plainrole").expect("an expiry");
    assert!(left > 850.0 && left <= 900.0, "{left}");

    let ar = sts_requests(&sts, "AssumeRole");
    assert_eq!(ar.len(), 2);
    let by_base = |akid: &str| {
        ar.iter()
            .find(|(req, _)| signed_with(req) == akid)
            .unwrap_or_else(|| panic!("no AssumeRole signed with {akid}"))
    };
    // The profile's role chain: AWS_ENDPOINT_URL_STS, signed with the source profile's keys.
    let (req, form) = by_base(prod.id);
    assert_eq!(form["RoleArn"], "arn:aws:iam::123456789012:role/chained");
    assert_eq!(form["RoleSessionName"], "chained-session");
    assert_eq!(form["ExternalId"], "CANARY-chained-external-id");
    assert_eq!(stand_in_token(req), prod.token.as_deref());
    // The named source: its sts_endpoint_url, signed with its static keys.
    let (req, form) = by_base(named_base.id);
    assert_eq!(form["RoleArn"], "arn:aws:iam::210987654321:role/named");
    assert_eq!(form["RoleSessionName"], "named-session");
    assert_eq!(form["ExternalId"], "CANARY-named-external-id");
    assert_eq!(stand_in_token(req), named_base.token.as_deref());
    // The plain AssumeRole: the route's sts_endpoint_url, the default session name, and no
    // external id or duration when none is configured.
    let ar = sts_requests(&plain_sts, "AssumeRole");
    assert_eq!(ar.len(), 1);
    let (req, form) = &ar[0];
    assert_eq!(signed_with(req), plain_base.id);
    assert_eq!(stand_in_token(req), plain_base.token.as_deref());
    assert_eq!(form["RoleArn"], "arn:aws:iam::123456789012:role/plain");
    assert_eq!(form["RoleSessionName"], "lambda-proxy");
    assert!(!form.contains_key("ExternalId"), "{form:?}");
    assert!(!form.contains_key("DurationSeconds"), "{form:?}");
    clean_log(&gw);

    // Plain environment keys (their own process: env keys come first in the default chain).
    let mut env = Env::new();
    env.set("AWS_ACCESS_KEY_ID", from_env.id)
        .set("AWS_SECRET_ACCESS_KEY", &from_env.secret)
        .set("AWS_SESSION_TOKEN", from_env.token.as_deref().unwrap());
    let metrics = metrics_addr();
    let config = GatewayConfig::new()
        .metrics(metrics)
        .routes(both_kinds(emu.http, "env"));
    let env_gw = env.gateway(&config);
    assert_eq!(ready(&c, &env_gw, "fn-env").await, from_env.seen());
    assert_eq!(call(&c, &env_gw, "uri-env").await.unwrap(), from_env.seen());

    // Sources added by a reload, after the refresher started: a route with the same source
    // shares its cell (no second fetch), a static source serves at once and never refreshes.
    let config = config.routes([
        uri_route(emu.http, "uri-env2"),
        fn_route(emu.http, "fn-late")
            .set("aws_key", late.id)
            .set("aws_secret", &late.secret)
            .set("aws_session_token", late.token.as_deref().unwrap()),
    ]);
    env_gw.rewrite_routes(&config.body_yaml());
    env_gw.signal("HUP");
    assert_eq!(ready(&c, &env_gw, "uri-env2").await, from_env.seen());
    assert_eq!(call(&c, &env_gw, "fn-late").await.unwrap(), late.seen());
    assert_eq!(refreshes(metrics, "route:uri-env"), (1, 0));
    assert_eq!(refreshes(metrics, "route:fn-late"), (0, 0));
    let (_, scrape) = raw_get(metrics, "/metrics");
    assert!(
        !scrape.contains("route:uri-env2"),
        "a cell of its own:\n{scrape}"
    );
    clean_log(&env_gw);
}

// ---------------------------------------------------------------------------------------------
// Rotation and failures
// ---------------------------------------------------------------------------------------------
