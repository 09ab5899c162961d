"""The console protocol is a public interface: these tests pin its exact shape."""

import subprocess
import sys

from tests.conftest import ROOT


def console(script: str, tmp_path, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "ADMIN_IDS": "9001", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "bot", "console", "--db", str(tmp_path / "c.sqlite3")],
                          input=script, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


def blocks(stdout: str) -> list[str]:
    return [b.strip("\n") for b in stdout.split("\n\n") if b.strip()]


def test_transcript_format(tmp_path):
    result = console("/start\n#1\n@echo --\n#1@2\n#99\n", tmp_path)
    assert result.returncode == 0, result.stderr
    out = blocks(result.stdout)
    assert out[0].splitlines()[0] == "[to 1001 #2]"
    assert out[0].splitlines()[1] == "Chào bạn! Mình là Trợ lý số."
    assert "  [1] 📚 Hướng dẫn" in out[0].splitlines()
    assert out[1].splitlines()[0] == "[edit 1001 #2]"
    assert out[1].splitlines()[1] == "📚 Chọn chủ đề:"
    assert out[2].splitlines()[:3] == ["--", "[edit 1001 #2]", "🪪 VNeID và định danh điện tử"]  # @echo, #N@M
    assert "! message #2 has" in result.stderr  # a wrong button number is said on stderr, never stdout
    assert result.stdout.endswith("\n\n")


def test_users_replies_and_media(tmp_path):
    script = "\n".join(["@as 2002 Lan", "/start", "@contact", "@photo screen", "@voice", "@reply 2 hello",
                        "@location 10.7769 106.7009", "@wait 5", "@echo done", "@quit", "/start"]) + "\n"
    result = console(script, tmp_path)
    assert result.returncode == 0, result.stderr
    out = blocks(result.stdout)
    assert out[0].startswith("[to 2002 #2]\n")
    assert sum(b.startswith("[to 2002 ") and "chỉ đọc được chữ" in b for b in out) == 3  # contact, photo, voice
    assert any(b.startswith("[to 2002 ") and "📍 Các điểm hỗ trợ gần bạn nhất:" in b for b in out)
    assert result.stdout.endswith("\ndone\n")  # nothing after @quit
    assert "Traceback" not in result.stderr


def test_reply_keyboard_lines(tmp_path):
    result = console("/start\n#4\n#5\n", tmp_path)
    assert "  {📍 Gửi vị trí của tôi}" in result.stdout.splitlines()


def test_without_token_python_m_bot_starts_the_console(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_PATH": str(tmp_path / "d.sqlite3")}
    result = subprocess.run([sys.executable, "-m", "bot"], input="/start\n", capture_output=True, text=True,
                            cwd=ROOT, env=env, timeout=120)
    assert result.returncode == 0
    assert result.stderr.splitlines()[0] == ("BOT_TOKEN is not set: starting the local chat console instead "
                                             "(type /start).")
    assert result.stdout.startswith("[to 1001 #2]\n")
