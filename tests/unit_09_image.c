/* Unit tests: [09] IMAGE (references, platforms, media types) and [11]
 * MOUNTS (Docker's -v, --mount and --tmpfs syntaxes). */

static int ti_norm(const char *in, const char *want)
{
	char out[512];
	struct mr_err err;
	if (image_ref_normalize(in, out, sizeof out, &err) < 0)
		return want == NULL;
	return want && !strcmp(out, want);
}

static int ti_score(const char *json, const char *want)
{
	struct mr_json_doc doc = { 0 };
	struct image_platform p;
	struct mr_err err;
	int score;
	if (mr_json_parse(&doc, json, strlen(json), &err) < 0 ||
	    image_platform_parse(want, &p, &err) < 0)
		return -1;
	score = image_platform_score(doc.root, &p);
	mr_json_free(&doc);
	return score;
}

static void test_image(void)
{
	struct mount_spec m;
	struct mr_err err;

	CHECK(ti_norm("busybox", "busybox:latest"));
	CHECK(ti_norm("busybox:1.36", "busybox:1.36"));
	CHECK(ti_norm("docker.io/library/busybox:1", "busybox:1"));
	CHECK(ti_norm("docker.io/user/app", "user/app:latest"));
	CHECK(ti_norm("index.docker.io/library/nginx", "nginx:latest"));
	CHECK(ti_norm("localhost:5000/a/b", "localhost:5000/a/b:latest"));
	CHECK(ti_norm("localhost:5000/a/b:v2", "localhost:5000/a/b:v2"));
	CHECK(ti_norm("busybox@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		      "busybox@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	CHECK(ti_norm("busybox@sha256:1234", NULL));
	CHECK(ti_norm("BusyBox", NULL));
	CHECK(ti_norm("bad name", NULL));
	CHECK(ti_norm("", NULL));
	CHECK(ti_norm("busybox:", NULL));

	CHECK(ti_score("{\"os\":\"linux\",\"architecture\":\"amd64\"}", "linux/amd64") > 0);
	CHECK(ti_score("{\"os\":\"windows\",\"architecture\":\"amd64\"}", "linux/amd64") == 0);
	CHECK(ti_score("{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}", "linux/arm/v7") >
	      ti_score("{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}", "linux/arm/v7"));
	CHECK(ti_score("{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}", "linux/arm/v7") > 0);
	CHECK(ti_score("{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}", "linux/arm/v6") == 0);
	CHECK(ti_score("{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}", "linux/arm/v8") > 0);
	CHECK(ti_score("{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}", "linux/arm64") > 0);
	CHECK(ti_score("{\"os\":\"linux\",\"architecture\":\"amd64\"}", "aarch64") == 0);
	CHECK(ti_score("{\"os\":\"linux\",\"architecture\":\"arm64\"}", "aarch64") > 0);
	CHECK(ti_score("{\"os\":\"unknown\",\"architecture\":\"unknown\"}", "linux/amd64") == 0);

	CHECK(image_is_layer_type("application/vnd.oci.image.layer.v1.tar"));
	CHECK(image_is_layer_type("application/vnd.oci.image.layer.v1.tar+gzip"));
	CHECK(image_is_layer_type("application/vnd.oci.image.layer.v1.tar+zstd"));
	CHECK(image_is_layer_type("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"));
	CHECK(image_is_layer_type("application/vnd.docker.image.rootfs.diff.tar.gzip"));
	CHECK(image_is_layer_type("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"));
	CHECK(!image_is_layer_type("application/vnd.oci.image.layer.v1.tar+bzip2"));
	CHECK(!image_is_layer_type("application/vnd.in-toto+json"));

	CHECK(mount_parse_v("/data", &m, &err) == 0 && m.type == MOUNT_VOLUME && m.anonymous &&
	      !strcmp(m.target, "/data"));
	CHECK(mount_parse_v("mydata:/var/lib/pg", &m, &err) == 0 && m.type == MOUNT_VOLUME &&
	      !m.anonymous && !strcmp(m.source, "mydata") && !m.readonly);
	CHECK(mount_parse_v("mydata:/x:ro,nocopy", &m, &err) == 0 && m.readonly && m.nocopy);
	CHECK(mount_parse_v("/host/dir:/ctr:ro", &m, &err) == 0 && m.type == MOUNT_BIND &&
	      !strcmp(m.source, "/host/dir") && m.readonly && !strcmp(m.mode, "ro"));
	CHECK(mount_parse_v("/host:/ctr:rshared", &m, &err) == 0 && m.propagation == (MS_SHARED | MS_REC));
	CHECK(mount_parse_v("./rel:/ctr", &m, &err) < 0 && strstr(err.msg, "absolute path"));
	CHECK(mount_parse_v("name:relative", &m, &err) < 0 && strstr(err.msg, "absolute"));
	CHECK(mount_parse_v("/host:/", &m, &err) < 0);
	CHECK(mount_parse_v("a:/b:c:d", &m, &err) < 0);
	CHECK(mount_parse_v("ab:/b:bogus", &m, &err) < 0 && strstr(err.msg, "invalid mode"));
	CHECK(mount_parse_mount("type=bind,source=/h,target=/c,readonly", &m, &err) == 0 &&
	      m.type == MOUNT_BIND && m.readonly && !m.from_v);
	CHECK(mount_parse_mount("type=volume,src=v1,dst=/c,volume-nocopy", &m, &err) == 0 &&
	      m.type == MOUNT_VOLUME && m.nocopy && !strcmp(m.source, "v1"));
	CHECK(mount_parse_mount("type=tmpfs,target=/t,tmpfs-size=64m,tmpfs-mode=1770", &m, &err) == 0 &&
	      m.type == MOUNT_TMPFS && !strcmp(m.tmpfs_opts, "size=67108864,mode=1770"));
	CHECK(mount_parse_mount("type=bind,source=rel,target=/c", &m, &err) < 0);
	CHECK(mount_parse_mount("type=nfs,target=/c", &m, &err) < 0);
	CHECK(mount_parse_mount("source=/x", &m, &err) < 0 && strstr(err.msg, "target is required"));
	CHECK(mount_parse_mount("type=volume,target=/c,foo=bar", &m, &err) < 0);
	CHECK(mount_parse_tmpfs("/run:size=1m,mode=700,noexec", &m, &err) == 0 &&
	      !strcmp(m.tmpfs_opts, "size=1048576,mode=700"));
	CHECK(mount_parse_tmpfs("run", &m, &err) < 0);
	CHECK(volume_name_valid("mydata") && volume_name_valid("a.b-c_d") && !volume_name_valid("a") &&
	      !volume_name_valid("../x") && !volume_name_valid("-x") && !volume_name_valid("a/b"));
}
