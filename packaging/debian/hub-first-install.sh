  # Read the effective ports from the configuration so the message matches it.
  http_host=127.0.0.1; http_port=8420; grpc_host=0.0.0.0; grpc_port=8421; data_dir=/var/lib/ferry-hub
  if [ -r /etc/ferry-hub/ferry-hub.env ]; then
    eval "$(sed -n -E 's/^(FERRY_HTTP_HOST|FERRY_HTTP_PORT|FERRY_GRPC_HOST|FERRY_GRPC_PORT|FERRY_DATA_DIR)=([A-Za-z0-9._:/-]*)$/\1=\2/p' /etc/ferry-hub/ferry-hub.env \
      | sed -E 's/^FERRY_HTTP_HOST=/http_host=/; s/^FERRY_HTTP_PORT=/http_port=/; s/^FERRY_GRPC_HOST=/grpc_host=/; s/^FERRY_GRPC_PORT=/grpc_port=/; s/^FERRY_DATA_DIR=/data_dir=/')"
  fi
  this_host=$(hostname -f 2>/dev/null || hostname)
  case "$http_host" in 0.0.0.0|::|'') url_host=$this_host ;; *) url_host=$http_host ;; esac
  case "$grpc_host" in 0.0.0.0|::|'') agent_host=$this_host ;; *) agent_host=$grpc_host ;; esac
  if [ -d /run/systemd/system ]; then started="started (systemctl status ferry-hub)"; else started="not started: systemd is not running"; fi
  cat <<MSG

Ferry hub installed, $started.
  REST API:   http://$url_host:$http_port/api/v1   (health: /api/v1/health)
  Admin key:  $data_dir/admin.key, written on the first start, readable by root:
                sudo cat $data_dir/admin.key
  Agents:     connect to gRPC port $grpc_port and data port $((grpc_port + 1)) (unless FERRY_DATA_PORT
              says otherwise); on each source host install ferry-agent and run
                ferry-agent enroll --hub $agent_host:$grpc_port --token TOKEN
                systemctl enable --now ferry-agent
  Config:     /etc/ferry-hub/ferry-hub.env, then: systemctl restart ferry-hub

MSG
