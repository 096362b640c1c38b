{
  "targets": [
    {
      "target_name": "sockopt",
      "sources": ["native/sockopt.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    },
    {
      "target_name": "tftp_pump",
      "sources": ["native/tftp_pump.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "libraries": ["-lpthread"]
    },
    {
      "target_name": "dhcp_batch",
      "sources": ["native/dhcp_batch.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
