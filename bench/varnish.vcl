vcl 4.1;
# Varnish with malloc storage (set on the command line); default VCL otherwise: it keeps backend connections alive
# and streams to waiting viewers.
backend origin { .host = "127.0.0.1"; .port = "@ORIGIN@"; }
sub vcl_recv {
  if (req.url == "/health") { return (synth(200, "ok")); }
}
