  cat <<MSG

Ferry agent installed (not started: it must enroll first). With a token from the hub
(POST /api/v1/agents/enrollment-tokens):
  ferry-agent enroll --hub HUB_HOST:8421 --token TOKEN
  systemctl enable --now ferry-agent
Config: /etc/ferry-agent/ferry-agent.env. Disk access: see /lib/systemd/system/ferry-agent.service.

MSG
