/* Unit tests of section [20c] TEMPLATES (Go text/template subset). */

static const char tt_doc[] =
	"{\"Name\":\"/web\",\"State\":{\"Running\":true,\"Pid\":42,\"Error\":\"\"},"
	"\"Config\":{\"Labels\":{\"b\":\"2\",\"a\":\"1\"},\"Cmd\":[\"sleep\",\"300\"],\"Env\":null},"
	"\"Ports\":{},\"Nets\":{\"n1\":{\"IPAddress\":\"10.0.0.2\"},\"bridge\":{\"IPAddress\":\"10.1.0.2\"}}}";

/* Render fmt over tt_doc: 1 if rc and output are as expected. */
static int tt_render(const char *fmt, int want_rc, const char *want)
{
	struct mr_json_doc doc;
	struct mr_err err;
	struct mr_buf out = { 0 };
	char msg[256];
	int rc, ok;
	if (mr_json_parse(&doc, tt_doc, strlen(tt_doc), &err) < 0)
		return 0;
	rc = tmpl_render(fmt, doc.root, &out, msg, sizeof msg);
	ok = rc == want_rc && (want_rc ? strstr(msg, want) != NULL :
			       strcmp(out.data ? out.data : "", want) == 0);
	if (!ok)
		printf("  %s: rc %d, got <%s> (%s), want <%s>\n", fmt, rc, out.data ? out.data : "",
		       msg, want);
	mr_buf_free(&out);
	mr_json_free(&doc);
	return ok;
}

static void test_tmpl(void)
{
	CHECK(tt_render("{{.Name}} {{.State.Pid}} {{.State.Running}}", 0, "/web 42 true"));
	CHECK(tt_render("{{.Config.Labels}} {{.Config.Cmd}}", 0, "map[a:1 b:2] [sleep 300]"));
	CHECK(tt_render("{{json .Config.Labels}}", 0, "{\"a\":\"1\",\"b\":\"2\"}"));
	CHECK(tt_render("{{json .State}}", 0, "{\"Running\":true,\"Pid\":42,\"Error\":\"\"}"));
	CHECK(tt_render("{{index .Config.Labels \"b\"}}{{index .Config.Cmd 1}}", 0, "2300"));
	CHECK(tt_render("{{len .Config.Labels}} {{len .Config.Cmd}} {{len .Name}}", 0, "2 2 4"));
	CHECK(tt_render("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}", 0, "a=1;b=2;"));
	CHECK(tt_render("{{range .Nets}}{{.IPAddress}} {{end}}", 0, "10.1.0.2 10.0.0.2 "));
	CHECK(tt_render("{{range $i, $c := .Config.Cmd}}{{$i}}:{{$c}} {{end}}", 0, "0:sleep 1:300 "));
	CHECK(tt_render("{{range .Ports}}x{{else}}none{{end}}", 0, "none"));
	CHECK(tt_render("{{if .State.Running}}up{{else}}down{{end}}", 0, "up"));
	CHECK(tt_render("{{if .State.Error}}err{{else}}ok{{end}}", 0, "ok"));
	CHECK(tt_render("{{with .State}}{{.Pid}}{{end}}", 0, "42"));
	CHECK(tt_render("{{join .Config.Cmd \",\"}} {{upper .Name}} {{lower \"AbC\"}} {{title \"a b\"}}",
			0, "sleep,300 /WEB abc A B"));
	CHECK(tt_render("{{printf \"%s-%d|%5s|%-4s|\" .Name .State.Pid \"ab\" \"c\"}}", 0,
			"/web-42|   ab|c   |"));
	CHECK(tt_render("{{printf \"%T %T %q\" .State.Pid .Name .Name}}", 0, "int string \"/web\""));
	CHECK(tt_render("{{.State.Pid | printf \"%d!\"}}", 0, "42!"));
	CHECK(tt_render("{{eq .Name \"/web\"}} {{ne .State.Pid 42}} {{lt 1 2}} {{not true}}", 0,
			"true false true false"));
	CHECK(tt_render("{{and .State.Running .Name}} {{or .State.Error \"x\"}}", 0, "/web x"));
	CHECK(tt_render("{{range split \"a:b\" \":\"}}[{{.}}]{{end}}", 0, "[a][b]"));
	CHECK(tt_render("{{$n := .Name}}{{$n}}", 0, "/web"));
	CHECK(tt_render("a\\tb\\n{{- \" c \" -}}  d", 0, "a\tb c d"));
	CHECK(tt_render("{{.Config.Labels.zz}} {{.Config.Env}}", 0, "<no value> <no value>"));
	CHECK(tt_render("{{(index .Nets \"n1\").IPAddress}}", 0, "10.0.0.2"));
	/* Docker's errors: executing (-1) and malformed (-2) */
	CHECK(tt_render("{{.Nope}}", -1, "template: :1:2: executing \"\" at <.Nope>: map has no entry "
			"for key \"Nope\""));
	CHECK(tt_render("{{.State.Nope}}", -1, ":1:8: executing \"\" at <.State.Nope>"));
	CHECK(tt_render("{{range}}", -2, "missing value for range"));
	CHECK(tt_render("{{if .Name}}x", -2, "unexpected EOF"));
	CHECK(tt_render("{{end}}", -2, "unexpected {{end}}"));
	CHECK(tt_render("{{nosuch .Name}}", -2, "function \"nosuch\" not defined"));
	CHECK(tt_render("{{.Name", -2, "unclosed action"));
	CHECK(tt_render("{{range .Name}}x{{end}}", -1, "range can't iterate over /web"));
}
