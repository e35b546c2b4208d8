"""Generate the teaching notebooks of ``notebooks/`` from the Python source below.

Run ``python notebooks/build_notebooks.py`` from the repository root (or from
``notebooks/``) after editing a notebook here; the ``.ipynb`` files are written
without outputs, and ``tests/notebooks/test_notebooks.py`` executes them and
checks that they are what this script produces.

Each notebook is a list of cells: ``md(...)`` for markdown, ``code(...)`` for
code. Every notebook starts with a "What this notebook teaches" cell and ends
with an "Exercises" cell.
"""

from __future__ import annotations

import sys
from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

def prelude(*, numpy: bool = True, pyplot: bool = True, pandas: bool = True) -> str:
    """The first code cell: run from the repository root, import the usual libraries."""
    lines = [
        "import os",
        "from pathlib import Path",
        "",
    ]
    third = []
    if pyplot:
        third.append("import matplotlib.pyplot as plt")
    if numpy:
        third.append("import numpy as np")
    if pandas:
        third.append("import pandas as pd")
    lines += third + ([""] if third else [])
    lines += [
        '# Run from the repository root so that "topologies/..." paths resolve.',
        'if not Path("topologies").is_dir() and Path("../topologies").is_dir():',
        '    os.chdir("..")',
    ]
    if pandas:
        lines += ['pd.set_option("display.width", 140)',
                  'pd.set_option("display.max_columns", 20)']
    return "\n".join(lines) + "\n"


def md(text: str) -> nbformat.NotebookNode:
    return new_markdown_cell(dedent(text).strip("\n"))


def code(text: str) -> nbformat.NotebookNode:
    return new_code_cell(dedent(text).strip("\n"))


def notebook(cells: list[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    # Stable cell ids, so regenerating gives the same file byte for byte.
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    return nb


# ---------------------------------------------------------------------------------------
# 1. SIP basics
# ---------------------------------------------------------------------------------------
NB1 = [
    md("""
    # 1. SIP basics: INVITE, 200 OK, ACK, BYE

    **What this notebook teaches.** How two SIP phones set up and tear down a
    call (RFC 3261 sections 13 and 15): the INVITE / 100 Trying / 180 Ringing /
    200 OK / ACK three-way handshake and the BYE / 200 OK that ends the call.
    You will

    * run a call between two phones on one link (`topologies/direct.yaml`) and
      through the SIP trapezoid (`topologies/trapezoid.yaml`),
    * read every message in full, byte for byte as it went on the (simulated) wire,
    * draw the ladder (sequence) diagram as text and with matplotlib,
    * look at the transaction state machines that send and absorb these
      messages (RFC 3261 section 17) and their timers.

    Everything runs on a simulated clock: one seed gives one trace, bit for bit.
    """),
    code(prelude(numpy=False)),
    md("""
    ## Two phones on one link

    `topologies/direct.yaml` has two endpoints, `alice` and `bob`, joined by a
    link with 20 ms one-way delay (and 2 ms of jitter). The file also schedules
    one call from alice to bob at t = 0 lasting 30 s, so we do not place one
    ourselves: the calls of a topology are placed when the simulation runs, and
    `sim.calls` lists them.
    """),
    code("""
    from simvoip import Simulation, load_topology

    topo = load_topology("topologies/direct.yaml")
    print(topo.nodes(), [(a, b, attrs["delay"]) for a, b, attrs in topo.links()])
    print(topo.calls)

    sim = Simulation(topo, seed=7, media=False)   # media=False: SIP only, no RTP packets
    sim.run(until=60.0)
    call = sim.calls[0]
    call
    """),
    md("""
    `call` is a `SimCall`: the call as the caller's user agent saw it. The
    *post-dial delay* (PDD) is the time from sending the INVITE to hearing
    ringing (the first 180); the *set-up time* runs to the 200 OK. bob's phone
    answers one second after it starts ringing (its default behaviour).
    """),
    code("""
    pd.Series(call.summary())
    """),
    md("""
    ## The trace

    Every send, receive, drop, timer fire and state change became one row of
    the trace. `event` says what happened, `node` where, `peer` the other end
    of the hop; `method`/`status` identify the message, `cause` the timer or
    drop reason.
    """),
    code("""
    df = sim.trace.to_dataframe()
    sip = df[df["kind"] == "sip"]
    sip[["time", "event", "node", "peer", "method", "status", "cseq", "cause", "size"]]
    """),
    md("""
    ## The messages in full

    The `data` column holds the bytes that went on the wire. Let us print
    every message alice and bob *sent*, in order. Things to look for:

    * the **request line** (`INVITE sip:bob@bob SIP/2.0`) or **status line**
      (`SIP/2.0 180 Ringing`);
    * **Via** with its `branch` parameter (starting with the magic cookie
      `z9hG4bK`): it names the *transaction*; responses travel back along the Vias;
    * **From** / **To** with their `tag`s and the **Call-ID**: together they
      name the *dialog*. bob's 180 adds the To tag;
    * **CSeq**: a sequence number plus method. The ACK of a 2xx repeats the
      INVITE's number; the BYE uses a new one;
    * **Contact**: where to send requests inside the dialog (ACK, BYE);
    * the **SDP body** (RFC 4566) of the INVITE (the offer) and of the 200 OK
      (the answer): address, RTP port and codecs (payload types 0 = PCMU, 8 = PCMA).
    """),
    code("""
    sends = sip[sip["event"] == "send"]
    for row in sends.itertuples():
        print(f"===== t = {row.time:.3f} s   {row.node} -> {row.peer}   ({row.size} bytes) =====")
        print(row.data.decode())
    """),
    md("""
    The bytes parse back into message objects with `simvoip.sip.parse_message`;
    `encode()` gives the same bytes again.
    """),
    code("""
    from simvoip.sip import parse_message

    first = sends.iloc[0]
    invite = parse_message(first["data"])
    print(type(invite).__name__, invite.method, invite.uri)
    print("Via:     ", invite.headers.get("Via"))
    print("Call-ID: ", invite.headers.get("Call-ID"))
    print("CSeq:    ", invite.headers.get("CSeq"))
    print("round trip is exact:", invite.encode() == first["data"])
    """),
    md("""
    ## The ladder diagram

    A ladder (sequence) diagram has one vertical lifeline per node, time going
    down. The text version is handy in a terminal; each arrow is drawn at its
    send time. `[timer answer]` and `[timer hangup]` are the phones' own
    behaviour timers (bob answering, alice hanging up after 30 s). The lettered
    ones are RFC 3261 / RFC 6026 transaction timers that let a finished
    transaction linger to absorb retransmissions: **K** (T4 = 5 s) for alice's
    BYE transaction, **L** (64·T1 = 32 s) for bob's INVITE server transaction
    after its 2xx, **M** (64·T1) for alice's INVITE client transaction after
    the 2xx.
    """),
    code("""
    print(sim.trace.ladder_text())
    """),
    md("""
    The matplotlib ladder draws each arrow from the send time to the arrival
    time, so its slope shows the link delay. `start`/`end` select a time window
    (here the set-up), `call_id=` one call.
    """),
    code("""
    fig, ax = plt.subplots(figsize=(7, 5))
    sim.trace.ladder(call_id=call.call_id, end=2.0, ax=ax)
    ax.set_title("call set-up over one 20 ms link")
    plt.show()
    """),
    md("""
    ### What each message does

    | message | meaning |
    |---|---|
    | **INVITE** | "I want a session", with an SDP offer. Starts an INVITE client transaction at alice (timers A and B) and an INVITE server transaction at bob. |
    | **100 Trying** | hop-by-hop: "got it, stop retransmitting". A UAS that answers quickly does not need it (here bob rings at once); proxies send it (see the trapezoid below). |
    | **180 Ringing** | provisional (1xx) response from bob's phone: it is alerting the user. Creates an *early dialog* (To tag). PDD ends here. |
    | **200 OK** | final success response with the SDP answer. bob's UA core retransmits it (T1, 2T1, ... up to T2) until the ACK arrives, because the INVITE server transaction ends on a 2xx (RFC 3261 13.3.1.4, RFC 6026). |
    | **ACK** | confirms the 2xx. It is *not* a transaction of its own when acknowledging a 2xx: it goes end-to-end, to the Contact of the 200 OK. |
    | **BYE** | ends the dialog; a normal non-INVITE transaction (timers E, F, K). |
    | **200 OK (to BYE)** | the BYE transaction's final response. |
    """),
    md("""
    ## The transaction state machines

    The four RFC 3261 transaction machines (INVITE client = ICT, non-INVITE
    client = NICT, INVITE server = IST, non-INVITE server = NIST, with the
    RFC 6026 corrections) are each driven by one transition table. The same
    table that runs the protocol prints the documentation. Here is the ICT that
    alice used for her INVITE:
    """),
    code("""
    from simvoip.sip.transaction import MACHINES, render_diagram, render_table

    print(render_table(MACHINES["ICT"]))
    """),
    md("""
    And the non-INVITE client transaction that carried the BYE. `render_diagram`
    gives a Mermaid (or Graphviz `fmt="dot"`) state diagram; JupyterLab renders
    Mermaid blocks in markdown, so we display it that way.
    """),
    code("""
    from IPython.display import Markdown, display

    print(render_table(MACHINES["NICT"]))
    display(Markdown("```mermaid\\n" + render_diagram(MACHINES["NICT"]) + "\\n```"))
    """),
    md("""
    The server side: bob's INVITE server transaction (IST).
    """),
    code("""
    print(render_table(MACHINES["IST"]))
    """),
    md("""
    The `state` rows of the trace show the user-agent events (call started,
    progress, answered, ended) and, for single transactions, their states:
    """),
    code("""
    df[(df["event"] == "state")][["time", "node", "method", "status", "cause"]]
    """),
    md("""
    ## Through the SIP trapezoid

    `topologies/trapezoid.yaml` is the picture of RFC 3261 section 4: alice in
    domain `a.example` with her outbound proxy `proxy.a`; bob in `b.example`
    behind `proxy.b`. The phones *register* with their proxy at start-up (more
    in notebook 3), then alice calls `bob@b.example` at t = 1 s. The link
    between the proxies loses 2 % of the packets.
    """),
    code("""
    from simvoip.analysis.plots import topology_plot

    trap = load_topology("topologies/trapezoid.yaml")
    fig, ax = plt.subplots(figsize=(7, 3.5))
    topology_plot(trap, ax=ax, pos={"alice": (0, 0), "proxy.a": (1, 1), "proxy.b": (2, 1), "bob": (3, 0)})
    plt.show()
    """),
    code("""
    tsim = Simulation(trap, seed=7, media=False)
    tsim.run(until=60.0)
    tcall = tsim.calls[0]
    print(tcall, " PDD", round(tcall.pdd, 3), "s   set-up", round(tcall.setup_time, 3), "s")
    print(tsim.trace.ladder_text(call_id=tcall.call_id))
    """),
    md("""
    Now each proxy answers the INVITE with **100 Trying** at once: that stops
    the previous hop from retransmitting. The 180 and 200 travel back along
    the Via headers; the ACK and BYE go through both proxies too, because the
    proxies added themselves to the route set (`Record-Route`, notebook 3).
    """),
    md("""
    With four lifelines the messages crowd together; `spacing="event"` gives
    each event its own row (the row labels keep the simulated times).
    """),
    code("""
    fig, ax = plt.subplots(figsize=(8, 7))
    tsim.trace.ladder(call_id=tcall.call_id, end=3.0, ax=ax, spacing="event")
    plt.show()
    """),
    md("""
    ## Exercises

    1. Change the link delay of `direct.yaml` (build the topology in code with
       `Topology().add_endpoint(...)` / `add_link(..., delay=...)`) to 5, 50 and
       150 ms. How do PDD and set-up time scale? Explain with the ladder.
    2. In the printed messages, find every header whose value changes between
       the INVITE, the ACK and the BYE. Which ones stay the same, and why
       (dialog vs transaction identifiers)?
    3. Give bob `params={"answer_delay": None}` (he never answers) and
       alice `params={"invite_timeout": 10.0}`. What does alice send after 10 s,
       and what final response does bob's phone return for the INVITE?
    4. Make bob busy (`params={"reject_code": 486}`). Draw the ladder: who
       sends the ACK this time, and why is it part of the INVITE transaction
       (compare the ICT table rows for 300-699)?
    5. Use `render_table(MACHINES["NIST"])` to predict how long bob keeps the
       BYE server transaction after answering it; check with the `timer` rows
       of the trace.
    """),
]


# ---------------------------------------------------------------------------------------
# 2. Loss and retransmissions
# ---------------------------------------------------------------------------------------
NB2 = [
    md("""
    # 2. Loss and retransmissions: timers A, B, E and F

    **What this notebook teaches.** SIP over UDP makes its own reliability:
    a client transaction retransmits its request on a doubling schedule until
    it hears a response, and gives up after 64·T1 = 32 s. You will

    * watch timers E and F of a non-INVITE client transaction (an OPTIONS
      request) over a link that loses everything, and read the
      0, 0.5, 1.5, 3.5, 7.5, 11.5 ... s schedule off the trace;
    * do the same for timers A and B of an INVITE;
    * derive the probability that a transaction succeeds over a lossy link,
      and check it against many seeded simulation runs.
    """),
    code(prelude()),
    md("""
    ## Timers E and F: OPTIONS into a black hole

    RFC 3261 17.1.2.2: the non-INVITE client transaction sends the request and
    starts **Timer E** = T1 (500 ms) and **Timer F** = 64·T1 (32 s). Each time
    E fires, the request is retransmitted and E doubles, capped at T2 (4 s).
    When F fires the transaction times out.

    We build a two-node topology in code, with a link that drops every packet,
    and send one OPTIONS request with the built-in request driver. bob runs a
    tiny responder that answers OPTIONS with 200 OK (it never gets a chance).
    """),
    code("""
    from simvoip import Simulation, Topology
    from simvoip.sim.driver import make_request


    def two_phones(loss, delay=0.010):
        topo = Topology(name=f"loss-{loss}")
        topo.add_endpoint("alice", domain="a.example")
        topo.add_endpoint("bob", domain="b.example")
        topo.add_link("alice", "bob", delay=delay, loss=loss)
        return topo

    sim = Simulation(two_phones(loss=1.0), seed=1, media=False)
    sim.serve_options("bob")
    request = make_request("OPTIONS", "alice", "sip:bob@bob", call_id="opt-1", branch="z9hG4bK-opt-1")
    print(request.encode().decode())
    outcome = sim.send_request("alice", request, at=0.0)
    sim.run(until=60.0)
    print("responses:", outcome.responses, " timed out at", outcome.timed_out_at, "s")
    """),
    code("""
    print(sim.trace.ladder_text())
    """),
    md("""
    The schedule straight from the trace: every `send` row, the gap to the
    previous one, and when timer F fired.
    """),
    code("""
    df = sim.trace.to_dataframe()
    sends = df[df["event"] == "send"][["time"]].reset_index(drop=True)
    sends["gap"] = sends["time"].diff()
    print(sends.to_string())
    print("transmissions:", len(sends), "  timer F at", df[(df["event"] == "timer") & (df["cause"] == "F")]["time"].tolist())
    """),
    md("""
    The expected schedule, from the RFC's rule: gaps T1, 2T1, 4T1, then T2 for
    ever, until 64·T1. That gives **11 transmissions** (at 0, 0.5, 1.5, 3.5,
    7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5 s).
    """),
    code("""
    T1, T2 = 0.5, 4.0

    def nict_schedule(t1=T1, t2=T2):
        times, t, interval = [], 0.0, t1
        while t < 64 * t1:
            times.append(t)
            t += interval
            interval = min(2 * interval, t2)
        return times

    expected = nict_schedule()
    print(expected)
    assert np.allclose(sends["time"], expected), "the trace does not follow RFC 3261 17.1.2.2"
    """),
    md("""
    The matplotlib ladder marks each drop with an `x` and the cause, and each
    timer fire with a dot and its RFC letter.
    """),
    code("""
    fig, ax = plt.subplots(figsize=(6, 7))
    sim.trace.ladder(ax=ax, end=12.0)
    ax.set_title("OPTIONS over a 100 % loss link (first 12 s)")
    plt.show()
    """),
    md("""
    ## Timers A and B: the same for an INVITE

    RFC 3261 17.1.1.2: the INVITE client transaction uses **Timer A** (starts
    at T1 and doubles *without* a cap) and **Timer B** = 64·T1. Unlike E, A is
    not capped at T2, so an INVITE is sent only 7 times: 0, 0.5, 1.5, 3.5,
    7.5, 15.5, 31.5 s. We place a call over the dead link.
    """),
    code("""
    isim = Simulation(two_phones(loss=1.0), seed=1, media=False)
    icall = isim.call("alice", "bob", at=0.0, duration=10.0)
    isim.run(until=60.0)
    print(icall, icall.summary()["end_reason"])
    idf = isim.trace.to_dataframe()
    invites = idf[(idf["event"] == "send") & (idf["method"] == "INVITE")]
    print("INVITE sent at", invites["time"].round(3).tolist())
    print("timers:", idf[idf["event"] == "timer"][["time", "cause"]].values.tolist())
    """),
    md("""
    ## How likely is success over a lossy link?

    Now a link that loses each packet independently with probability *p*, in
    each direction. When does the OPTIONS transaction succeed?

    **Model and assumptions.**

    * Loss is Bernoulli: every packet, in either direction, is lost
      independently with probability *p* (the simulator's `loss=` parameter
      does exactly that, from a seeded stream per link direction).
    * The client sends n = 11 copies of the request (the schedule above), as
      long as no final response has arrived.
    * bob's server transaction answers the first copy that arrives with 200 OK,
      and answers **every later copy** by retransmitting that response
      (RFC 3261 17.2.2, state Completed). bob never sends a response on its own.
    * The round trip (20 ms) is far shorter than the gaps, so the response to
      copy *i* is back before copy *i*+1 would be sent, and the response to the
      last copy (31.5 s) arrives before Timer F (32 s).

    Then copy *i* "gets through" when the request *and* its response survive,
    with probability (1-p)². The transaction fails only if all 11 attempts
    fail, and the attempts are independent:

    $$P_\\text{fail}(p) = \\bigl(1 - (1-p)^2\\bigr)^{11}, \\qquad P_\\text{success} = 1 - P_\\text{fail}.$$

    (For an INVITE with a response retransmitted by the server it would be 7
    attempts instead of 11 — and a 1xx would stop the retransmissions, which
    this simple formula does not cover.)

    **Measurement.** For each loss rate we send 1000 independent OPTIONS
    transactions (distinct Call-IDs and branches) across one simulated link and
    count how many got a final response. Each transaction draws its own losses
    from the link's random stream, so they are independent trials.
    """),
    code("""
    N_TRANSMISSIONS = len(expected)   # 11

    def p_success(p, n=N_TRANSMISSIONS):
        return 1.0 - (1.0 - (1.0 - p) ** 2) ** n

    def measure(p, trials=1000, seed=0):
        sim = Simulation(two_phones(loss=p), seed=seed, media=False)
        sim.serve_options("bob")
        outcomes = [
            sim.send_request("alice",
                             make_request("OPTIONS", "alice", "sip:bob@bob",
                                          call_id=f"opt-{i}", branch=f"z9hG4bK-{i}"),
                             at=0.02 * i)
            for i in range(trials)
        ]
        sim.run(until=0.02 * trials + 40.0)
        ok = sum(o.final is not None for o in outcomes)
        df = sim.trace.to_dataframe()
        copies = df[(df["event"] == "send") & (df["node"] == "alice")].groupby("call_id").size()
        return ok, trials, float((copies - 1).mean())

    rows = []
    for p in [0.0, 0.3, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9]:
        ok, n, rtx = measure(p, seed=42)
        rows.append({"loss": p, "successes": ok, "trials": n, "measured": ok / n,
                     "analytic": p_success(p), "mean_retransmissions": rtx})
    results = pd.DataFrame(rows)
    # 95 % normal-approximation interval of a binomial proportion
    results["ci95"] = 1.96 * np.sqrt(results["analytic"] * (1 - results["analytic"]) / results["trials"])
    results["within_ci"] = (results["measured"] - results["analytic"]).abs() <= results["ci95"] + 1e-12
    results.round(4)
    """),
    code("""
    grid = np.linspace(0, 0.95, 200)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(grid, p_success(grid), label=r"analytic $1-(1-(1-p)^2)^{11}$")
    ax.errorbar(results["loss"], results["measured"], yerr=results["ci95"], fmt="o", capsize=3,
                label="measured (1000 transactions, ±95 % CI of the analytic value)")
    ax.set_xlabel("packet loss probability p (each direction)")
    ax.set_ylabel("P(OPTIONS transaction succeeds)")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8)
    plt.show()
    """),
    md("""
    SIP's retransmissions make a transaction remarkably robust: even at 50 %
    loss each way (only a quarter of attempts can succeed) it fails less than
    5 % of the time. The price is time and load: the expected number of
    retransmissions grows quickly with *p*.
    """),
    code("""
    from simvoip.analysis.plots import retransmissions_vs_loss


    def expected_retransmissions(p, n=N_TRANSMISSIONS):
        # The k-th copy (k = 1..n) is sent only if all k-1 attempts before it failed.
        q = 1 - (1 - p) ** 2
        return sum(q ** k for k in range(1, n))

    fig, ax = plt.subplots(figsize=(7, 4))
    retransmissions_vs_loss(results.rename(columns={"mean_retransmissions": "retransmissions"}),
                            ax=ax, expected=expected_retransmissions)
    ax.set_ylabel("mean retransmissions per transaction")
    plt.show()
    """),
    md("""
    ## Exercises

    1. Derive the same success formula for an INVITE over a lossy link with
       the server never sending a 1xx (7 attempts). Then measure it with
       `sim.send_request` and an INVITE built with `make_request("INVITE", ...)`.
       What changes when bob sends 100 Trying?
    2. The formula assumed the round trip is much shorter than T1. Use
       `two_phones(p, delay=0.4)` (800 ms round trip, like a satellite hop): how
       does the measured success rate and retransmission count change, and why?
    3. Replace Bernoulli loss by bursty loss
       (`add_link(..., loss_model={"type": "gilbert_elliott", "mean_loss": 0.5, "mean_burst": 8})`).
       Is the transaction more or less likely to succeed at the same mean loss?
    4. `Simulation(..., timers=TimerConfig(t1=..., t2=...))` changes T1 and T2
       (from `simvoip.sim.simulation import TimerConfig`). What T1 would you
       pick for the satellite link, and what does it do to the number of
       transmissions in 64·T1?
    5. Explain why the ACK for a 2xx is never retransmitted by a timer, and what
       makes it reach the callee anyway when it is lost.
    """),
]


# ---------------------------------------------------------------------------------------
# 3. Proxies, registration, forking
# ---------------------------------------------------------------------------------------
NB3 = [
    md("""
    # 3. Proxies, registration, the trapezoid and forking

    **What this notebook teaches.** How SIP finds people. Phones *register*
    their current address (Contact) for their address-of-record (AOR) with a
    registrar; a proxy consults that location service to route a call, adds
    its own **Via** so responses come back the same way, and **Record-Route**
    so the rest of the dialog (ACK, BYE) keeps going through it. When one AOR
    has several phones, the proxy **forks**: it rings them all, forwards the
    first 2xx and **CANCEL**s the others (RFC 3261 sections 10, 16 and 9).
    """),
    code(prelude(numpy=False)),
    md("""
    ## Registration

    In `topologies/trapezoid.yaml` each phone's domain has a proxy (which is
    also the domain's registrar), so at t = 0 each phone sends REGISTER to it.
    """),
    code("""
    from simvoip import Simulation, load_topology

    trap = load_topology("topologies/trapezoid.yaml")
    sim = Simulation(trap, seed=7, media=False)
    sim.run(until=60.0)
    df = sim.trace.to_dataframe()
    sip = df[df["kind"] == "sip"]
    register = sip[sip["method"] == "REGISTER"]
    register[["time", "event", "node", "peer", "status", "call_id"]]
    """),
    code("""
    for row in register[register["event"] == "send"].itertuples():
        if row.node in ("bob", "proxy.b"):
            print(f"===== t = {row.time:.3f} s   {row.node} -> {row.peer} =====")
            print(row.data.decode())
    """),
    md("""
    The REGISTER binds the AOR in **To** (`sip:bob@b.example`) to the
    **Contact** (`sip:bob@bob`, the phone's own host) for **Expires** seconds;
    the 200 OK lists the bindings now in force. The registrar's location
    service holds them:
    """),
    code("""
    for name, proxy in sim.proxies.items():
        for aor in proxy.location.aors():
            for binding in proxy.location.bindings(aor, sim.now):
                print(f"{name:8s} {aor:20s} -> {binding.contact:18s} expires in {binding.expires_in(sim.now)} s")
    """),
    md("""
    ## The trapezoid call: Via and Record-Route

    alice calls `sip:bob@b.example` at t = 1 s. She sends the INVITE to her
    outbound proxy `proxy.a`, which finds that `b.example` is served by
    `proxy.b`; `proxy.b` looks bob up in its location service and rewrites the
    Request-URI to his Contact.
    """),
    code("""
    call = sim.calls[0]
    print(call, "  PDD", round(call.pdd, 3), "s")
    print(sim.trace.ladder_text(call_id=call.call_id, end=3.0))
    """),
    md("""
    Here is the INVITE as each hop *received* it. Each proxy

    * pushes a **Via** with a new branch on top (a new client transaction);
      responses pop them off again, so they retrace the path;
    * decrements **Max-Forwards** (loop protection);
    * adds **Record-Route** (`;lr` = loose routing, RFC 3261 16.6 step 4) so
      it stays on the path of later requests in the dialog;
    * `proxy.b` also replaces the Request-URI with the registered Contact.
    """),
    code("""
    from simvoip.sip import parse_message

    inv = sip[(sip["event"] == "recv") & (sip["method"] == "INVITE") & sip["status"].isna()
              & (sip["call_id"] == call.call_id)]
    for row in inv.itertuples():
        msg = parse_message(row.data)
        print(f"--- INVITE received by {row.node} at t = {row.time:.3f} s from {row.peer}")
        print("Request-URI :", msg.uri)
        print("Max-Forwards:", msg.headers.get("Max-Forwards"))
        for v in msg.headers.get_all("Via"):
            print("Via         :", v)
        for rr in msg.headers.get_all("Record-Route"):
            print("Record-Route:", rr)
    """),
    md("""
    The 200 OK carries the Record-Route list back to alice, who stores it
    (reversed) as her dialog's **route set**. Her ACK and BYE then carry
    **Route** headers naming both proxies, and each proxy removes its own entry
    as it forwards the request.
    """),
    code("""
    def show(event, node, method, status=None):
        rows = sip[(sip["event"] == event) & (sip["node"] == node) & (sip["method"] == method)
                   & (sip["call_id"] == call.call_id)]
        rows = rows[rows["status"].isna()] if status is None else rows[rows["status"] == status]
        row = rows.iloc[0]
        print(f"===== {event} at {node}, t = {row['time']:.3f} s =====")
        print(row["data"].decode().split("\\r\\n\\r\\n")[0])   # headers only
        print()

    show("recv", "alice", "INVITE", status=200)
    show("send", "alice", "BYE")
    show("recv", "bob", "BYE")
    """),
    md("""
    ## Forking: one AOR, three phones

    `topologies/forking.yaml` gives bob three phones (`bob.desk`, `bob.mobile`
    on a lossy, jittery link, `bob.soft`), all registered as
    `sip:bob@b.example`. alice calls bob at t = 1 s.
    """),
    code("""
    from simvoip.analysis.plots import topology_plot

    fork = load_topology("topologies/forking.yaml")
    fig, ax = plt.subplots(figsize=(7, 4))
    topology_plot(fork, ax=ax, pos={"alice": (0, 1), "proxy.b": (1, 1), "bob.desk": (2, 2),
                                    "bob.mobile": (2, 1), "bob.soft": (2, 0)})
    plt.show()

    fsim = Simulation(fork, seed=3, media=False)
    fsim.run(until=40.0)
    print([(b.contact) for b in fsim.proxies["proxy.b"].location.bindings("sip:bob@b.example", 0.5)])
    """),
    md("""
    First a cleaner variant: bob's desk phone answers after 2 s, the mobile
    would after 6 s and the softphone never. We load the same YAML, change the
    phones' `params` (UA behaviour) and build the topology from the dict.
    """),
    code("""
    import yaml

    from simvoip import Topology

    data = yaml.safe_load(open("topologies/forking.yaml"))
    answer_after = {"bob.desk": 2.0, "bob.mobile": 6.0, "bob.soft": None}
    for node in data["nodes"]:
        if node["name"] in answer_after:
            node["params"] = {"answer_delay": answer_after[node["name"]]}
    variant = Topology.from_dict(data, source="forking (one phone answers)")

    vsim = Simulation(variant, seed=3, media=False)
    vsim.run(until=40.0)
    vcall = vsim.calls[0]
    print(vcall)
    print(vsim.trace.ladder_text(call_id=vcall.call_id, end=4.0))
    """),
    md("""
    The proxy sends three INVITEs in parallel (one client transaction each),
    forwards the provisional responses, and when the desk phone's 200 OK
    arrives it forwards it to alice and sends **CANCEL** to the two branches
    still ringing (RFC 3261 16.7 step 10). Each cancelled phone answers the
    CANCEL with 200 OK *and* ends its INVITE with **487 Request Terminated**,
    which the proxy's INVITE client transaction acknowledges itself, hop by
    hop (that ACK belongs to the INVITE transaction). The ACK for the 2xx is
    different: alice sends it as a new request inside the dialog with the desk
    phone (it passes `proxy.b` only because of Record-Route).

    alice receives three 180 Ringing: not retransmissions (the ladder would
    mark those `(rtx)`) but one per fork, each with its own To tag — three
    early dialogs, of which only the desk phone's becomes confirmed.
    """),
    code("""
    vdf = vsim.trace.to_dataframe()
    for_alice = vdf[(vdf["event"] == "recv") & (vdf["node"] == "alice") & (vdf["kind"] == "sip")
                    & (vdf["method"] == "INVITE") & (vdf["call_id"] == vcall.call_id)]
    for row in for_alice.itertuples():
        msg = parse_message(row.data)
        if hasattr(msg, "status_code"):
            print(f"t = {row.time:.3f}  {msg.status_code} {msg.reason:10s} To: {msg.headers.get('To')}")
    """),
    code("""
    sent = vdf[(vdf["event"] == "send") & (vdf["kind"] == "sip") & (vdf["call_id"] == vcall.call_id)]
    message = (sent["method"] + " " + sent["status"].astype("string")).fillna(sent["method"])
    pd.crosstab([sent["node"], sent["peer"]], message.rename("message sent"))
    """),
    md("""
    ## The race in the shipped scenario

    In `forking.yaml` itself every phone answers one second after ringing. The
    desk phone (2 ms away) rings first and answers first, but the CANCELs
    reach the softphone (15 ms) and the mobile (60 ms + jitter) only *after*
    they have answered too. A proxy must forward **every** 2xx to the caller
    (RFC 3261 16.7 step 5), so alice receives three 200 OKs from three
    different phones: she ACKs each (each one creates a dialog) and immediately
    sends BYE on the two extra dialogs (RFC 3261 13.2.2.4).
    """),
    code("""
    fcall = fsim.calls[0]
    print(fcall, "- the call alice kept is with", fcall.callee)
    print(fsim.trace.ladder_text(call_id=fcall.call_id, start=1.9, end=2.5))
    """),
    code("""
    fdf = fsim.trace.to_dataframe()
    ok_at_alice = fdf[(fdf["event"] == "recv") & (fdf["node"] == "alice") & (fdf["status"] == 200)
                      & (fdf["method"] == "INVITE")]
    for row in ok_at_alice.itertuples():
        msg = parse_message(row.data)
        print(f"t = {row.time:.3f}  200 OK from Contact {msg.headers.get('Contact')}  To: {msg.headers.get('To')}")
    byes = fdf[(fdf["event"] == "send") & (fdf["node"] == "alice") & (fdf["method"] == "BYE")]
    print("alice sent BYE at", byes["time"].round(3).tolist())
    """),
    md("""
    ## Exercises

    1. Make `proxy.b` fork *sequentially* (`params: {forking: sequential}` on
       the proxy node, with the variant's answer delays). How long does alice
       now wait for an answer, and in which order are the phones tried?
    2. Turn Record-Route off on both proxies of the trapezoid
       (`params: {record_route: false}`). Which requests still go through the
       proxies, and which go straight from alice to bob?
    3. In the shipped forking scenario, how small must the mobile's link delay
       be for it to be cancelled before it answers? Check your estimate by
       editing the YAML dict and rerunning.
    4. Let the registrations expire: give the phones
       `params: {register_expires: 5}` and place a call at t = 30 s. What
       does the UA do to stay reachable (look for REGISTER rows in the trace)?
    5. Count the transactions `proxy.b` handled for one forked call (client and
       server, INVITE and non-INVITE). Relate the number to the ladder.
    """),
]


# ---------------------------------------------------------------------------------------
# 4. Voice quality
# ---------------------------------------------------------------------------------------
NB4 = [
    md("""
    # 4. Voice quality: jitter buffers and the E-model

    **What this notebook teaches.** What the network does to a voice stream
    and how we score it. You will

    * feed the same packet arrivals to a **fixed** and an **adaptive** jitter
      (playout) buffer and see the trade-off between *late discards* and
      *buffer delay*;
    * use the ITU-T G.107 **E-model** to turn packet loss, loss burstiness
      (BurstR, Gilbert–Elliott loss) and mouth-to-ear delay into a rating R
      and a MOS (1 = bad … 4.5 = best);
    * measure MOS on calls simulated packet by packet over a lossy Wi-Fi hop
      (`topologies/wifi.yaml`) and a geostationary satellite hop
      (`topologies/satellite.yaml`), and replay their RTP through other buffers.
    """),
    code(prelude()),
    md("""
    ## Jitter buffers

    A phone sends one RTP packet every 20 ms (PCMU, 160 samples). The network
    adds a variable delay, so packets arrive unevenly; the receiver holds them
    in a playout buffer and plays them at a steady pace. A packet that arrives
    after its playout time is useless: a **late discard**, heard exactly like a
    lost packet. A bigger buffer discards less but adds delay.

    We draw a 60 s stream (3000 packets): 40 ms fixed delay plus exponential
    jitter (mean 15 ms), 1 % random loss. For talkspurts we assume speech in
    2 s bursts (the adaptive buffer only changes its delay at the start of a
    talkspurt, RFC 3551 4.1).
    """),
    code("""
    from simvoip.media.jitter_buffer import AdaptiveJitterBuffer, FixedJitterBuffer, run_playout

    rng = np.random.default_rng(4)
    n, ptime = 3000, 0.020
    send = np.arange(n) * ptime
    arrival = send + 0.040 + rng.exponential(0.015, n)
    arrival[rng.random(n) < 0.01] = np.nan           # lost in the network
    talkspurt = (send // 2.0).astype(int)             # 2 s talkspurts

    rows = []
    for delay_ms in [10, 20, 30, 45, 60, 80, 100, 140]:
        res = run_playout(FixedJitterBuffer(delay_ms / 1000), send, arrival, talkspurt)
        rows.append({"buffer": f"fixed {delay_ms} ms", "kind": "fixed",
                     "late_discards_%": 100 * res.late_discards / n,
                     "network_loss_%": 100 * res.network_losses / n,
                     "buffer_delay_ms": 1000 * res.buffer_delay,
                     "mouth_to_ear_ms": 1000 * res.mouth_to_ear(packetisation=ptime),
                     "late in first 10 s": int(res.late[:500].sum())})
    for label, buf in [("adaptive (Ramjee alg. 1)", AdaptiveJitterBuffer()),
                       ("adaptive, v starts at 10 ms", AdaptiveJitterBuffer(initial_variation=0.010))]:
        res = run_playout(buf, send, arrival, talkspurt)
        rows.append({"buffer": label, "kind": "adaptive",
                     "late_discards_%": 100 * res.late_discards / n,
                     "network_loss_%": 100 * res.network_losses / n,
                     "buffer_delay_ms": 1000 * res.buffer_delay,
                     "mouth_to_ear_ms": 1000 * res.mouth_to_ear(packetisation=ptime),
                     "late in first 10 s": int(res.late[:500].sum())})
    buffers = pd.DataFrame(rows)
    buffers.round(2)
    """),
    md("""
    Note that the fixed buffer's delay is counted from the *first* packet's
    arrival: if that packet happened to be slow, every later packet gets
    extra slack (and extra delay); if it was fast, the buffer is tighter than
    its nominal size. The adaptive buffer instead estimates the mean network
    delay and its variation (`d + 4v`) and re-plans at each talkspurt.

    Here the textbook adaptive buffer does *worse* than a fixed one of the same
    mean delay. Look at the last column: most of its discards happen in the
    first 10 s. Its variation estimate `v` starts at 0 and, with
    `alpha = 0.998`, has a memory of about 500 packets (10 s), so the first
    talkspurts are played too early. Starting `v` at a sensible guess (10 ms)
    removes most of that start-up loss.
    """),
    code("""
    fixed = buffers[buffers["kind"] == "fixed"]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(fixed["buffer_delay_ms"], fixed["late_discards_%"], "o-", label="fixed buffers")
    for _, row in fixed.iterrows():
        ax.annotate(row["buffer"].split()[1] + " ms", (row["buffer_delay_ms"], row["late_discards_%"]),
                    fontsize=7, textcoords="offset points", xytext=(4, 4))
    for (_, ada), marker in zip(buffers[buffers["kind"] == "adaptive"].iterrows(), ["r*", "gP"], strict=True):
        ax.plot(ada["buffer_delay_ms"], ada["late_discards_%"], marker, ms=12, label=ada["buffer"])
    ax.set_xlabel("mean buffer delay (ms)")
    ax.set_ylabel("late discards (% of packets)")
    ax.legend()
    plt.show()
    """),
    md("""
    ## The E-model (ITU-T G.107)

    The E-model adds up impairments on a rating scale:
    $R = R_o - I_s - I_d - I_{e,\\mathrm{eff}} + A$.
    With default settings $R_o - I_s \\approx 93.2$.
    Two terms matter for VoIP:

    * $I_d$, the delay impairment, grows with the mouth-to-ear delay $T_a$ (slowly
      below ~150 ms, steeply beyond);
    * $I_{e,\\mathrm{eff}} = I_e + (95 - I_e)\\,\\dfrac{P_{pl}}{P_{pl}/\\mathrm{BurstR} + B_{pl}}$,
      the codec's equipment impairment $I_e$ raised by packet loss $P_{pl}$ (%),
      with the codec's robustness $B_{pl}$ and the burst ratio BurstR
      (1 = random loss, > 1 = losses come in bursts).

    MOS follows from R by a fixed S-curve (`mos_from_r`).
    """),
    code("""
    from simvoip.media.codecs import codec_by_name
    from simvoip.media.emodel import EModel, mos_from_r

    pcmu = codec_by_name("PCMU")
    g729 = codec_by_name("G729")
    print(f"PCMU: Ie = {pcmu.ie}, Bpl = {pcmu.bpl};  G.729: Ie = {g729.ie}, Bpl = {g729.bpl}")
    print("no impairment: R =", round(EModel().r, 2), " MOS =", round(mos_from_r(EModel().r), 2))
    print("PCMU, 2 % random loss: R =", round(EModel(ie=pcmu.ie, bpl=pcmu.bpl, ppl=2.0).r, 2))
    """),
    code("""
    ppl = np.linspace(0, 20, 81)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for codec, style in [(pcmu, "-"), (g729, "--")]:
        for burst, colour in [(1.0, "C0"), (2.0, "C1"), (4.0, "C3")]:
            mos = [EModel(ie=codec.ie, bpl=codec.bpl, ppl=p, burst_r=burst).mos for p in ppl]
            axes[0].plot(ppl, mos, style, color=colour, label=f"{codec.name}, BurstR {burst:g}")
    axes[0].set_xlabel("packet loss Ppl (%)")
    axes[0].set_ylabel("MOS")
    axes[0].set_title("MOS vs loss and burstiness (Ta = 0)")
    axes[0].legend(fontsize=7)

    ta = np.linspace(0, 800, 161)
    for p_loss, colour in [(0.0, "C0"), (1.0, "C1"), (3.0, "C3")]:
        axes[1].plot(ta, [EModel(ie=pcmu.ie, bpl=pcmu.bpl, ppl=p_loss, ta=t).mos for t in ta],
                     color=colour, label=f"PCMU, {p_loss:g} % random loss")
    axes[1].axvline(150, color="0.6", ls=":")
    axes[1].axvline(400, color="0.6", ls=":")
    axes[1].set_xlabel("mouth-to-ear delay Ta (ms)")
    axes[1].set_title("MOS vs delay (G.114: < 150 ms fine, > 400 ms unacceptable)")
    axes[1].legend(fontsize=7)
    for ax in axes:
        ax.set_ylim(1, 4.6)
    plt.show()
    """),
    md("""
    **Burstiness.** A Gilbert–Elliott channel alternates between a Good state
    (no loss) and a Bad state (loss). With mean loss 3 % and mean bursts of
    4 packets, the G.107 BurstR is about 4 (for this simple Gilbert model
    BurstR = 1/(p + r)). We check that against a simulated loss pattern. For
    G.711 with packet-loss concealment ($B_{pl}$ = 25.1) the penalty for
    burstiness is small at 3 % loss; the left plot above shows it grows
    quickly at higher loss, and for less robust codecs.
    """),
    code("""
    import random

    from simvoip.media.loss import GilbertElliott, burst_r

    rows = []
    for mean_burst in [1.0, 2.0, 4.0, 8.0]:
        ge = GilbertElliott.from_loss_and_burst(mean_loss=0.03, mean_burst=mean_burst) \\
            if mean_burst > 1 else GilbertElliott.bernoulli(0.03)
        lost = ge.losses(200_000, random.Random(1))
        measured_burst_r = burst_r(lost)
        rows.append({"mean_burst": mean_burst, "p": ge.p, "r": ge.r,
                     "loss_% (model)": 100 * ge.mean_loss, "loss_% (measured)": 100 * np.mean(lost),
                     "BurstR (model)": ge.burst_r, "BurstR (measured)": measured_burst_r,
                     "MOS (PCMU)": EModel(ie=pcmu.ie, bpl=pcmu.bpl, ppl=100 * ge.mean_loss,
                                          burst_r=ge.burst_r).mos})
    pd.DataFrame(rows).round(3)
    """),
    md("""
    ## MOS of simulated calls: Wi-Fi and satellite

    Now real (simulated) calls: SIP sets them up, then each side sends RTP
    packet by packet over the same links, with the topology's delay, jitter,
    loss, queues and faults. Each receiver runs a 60 ms fixed jitter buffer and
    the E-model; `call.quality` has one report per receiving side.

    * `wifi.yaml`: alice's last hop has bursty loss (3 % mean, bursts of 4)
      and exponential jitter;
    * `satellite.yaml`: 290 ms each way over the satellite hop, and a 0.5 s
      delay spike between t = 30 s and 32 s.
    """),
    code("""
    from simvoip import Simulation, load_topology

    sims, reports = {}, []
    for name in ["wifi", "satellite"]:
        sim = Simulation(load_topology(f"topologies/{name}.yaml"), media=True)
        sim.run(until=80.0)
        sims[name] = sim
        call = sim.calls[0]
        for receiver, q in call.quality.items():
            reports.append({"scenario": name, "receiver": receiver, "ppl_%": q.ppl,
                            "lost": q.packets_lost, "late": q.packets_discarded,
                            "burst_r": q.burst_r, "jitter_ms": q.jitter_ms,
                            "mouth_to_ear_ms": q.mouth_to_ear_ms, "R": q.r, "MOS": q.mos})
    pd.DataFrame(reports).round(2)
    """),
    md("""
    The endpoints measure some of this themselves, over RTCP (RFC 3550 section
    6): every ~5 s each side sends a sender report with a *report block* about
    the stream it receives (fraction lost since the last report, cumulative
    loss, interarrival jitter) and echoes the last SR it got (LSR, DLSR), from
    which the other side computes the round-trip time `A - LSR - DLSR`.
    Here is the last report each side received, next to what the simulator
    knows:
    """),
    code("""
    rows = []
    for name, sim in sims.items():
        call = sim.calls[0]
        for node in (call.caller, call.callee):
            agent = sim.media.rtcp[(call.call_id, node)]
            block = agent.peer_reports[-1]  # what the peer reported about node's stream
            rows.append({"scenario": name, "sender": node, "reports sent": agent.sent,
                         "peer says: cumulative lost": block.cumulative_lost,
                         "peer says: jitter_ms": 1000 * block.jitter / 8000,
                         "RTCP RTT_ms": 1000 * sim.media.rtt(call.call_id, node)})
    pd.DataFrame(rows).round(1)
    """),
    md("""
    The satellite RTT is about 2 x 290 ms plus the terrestrial hops, measured
    by the endpoints alone: this is how real phones and monitoring tools learn
    the network delay they cannot see.
    """),
    md("""
    Wi-Fi loses a few percent in bursts (BurstR ≈ 4) but keeps the delay low:
    MOS around 4. The satellite call loses almost nothing in the network, but
    its mouth-to-ear delay is near 400 ms, and the delay spike made the 60 ms
    buffer discard every packet for two seconds — one long burst (huge BurstR).

    The E-model gives one number per call. To see *when* quality suffered,
    we take the RTP rows of the trace (every packet's send and arrival time),
    replay them through a jitter buffer ourselves and score 2-second windows.
    """),
    code("""
    from simvoip.analysis.plots import mos_over_time


    def rtp_stream(sim, sender, receiver):
        df = sim.trace.to_dataframe()
        rtp = df[df["kind"] == "rtp"]
        sent = rtp[(rtp["event"] == "send") & (rtp["node"] == sender)][["packet", "time"]]
        got = rtp[(rtp["event"] == "recv") & (rtp["node"] == receiver)][["packet", "time"]]
        both = sent.merge(got, on="packet", how="left", suffixes=("_send", "_recv"))
        return both["time_send"].to_numpy(), both["time_recv"].to_numpy()

    def windowed_mos(send, arrival, buffer, window=2.0, talkspurt_s=2.0):
        spurt = ((send - send[0]) // talkspurt_s).astype(int)
        res = run_playout(buffer, send, arrival, spurt)
        rows = []
        for start in np.arange(send[0], send[-1], window):
            sel = (send >= start) & (send < start + window)
            if sel.sum() < 10:
                continue
            impaired = ~res.played[sel]
            played = res.played & sel
            ta_ms = 1000 * (np.mean(res.playout_times[played] - res.send_times[played]) + ptime) \\
                if played.any() else 1000.0
            model = EModel(ie=pcmu.ie, bpl=pcmu.bpl, ppl=100 * impaired.mean(),
                           burst_r=burst_r(impaired), ta=ta_ms)
            rows.append({"time": start - send[0], "mos": model.mos})
        return pd.DataFrame(rows), res

    send_s, arrival_s = rtp_stream(sims["satellite"], "bob", "alice")
    frames = []
    for label, buf in [("fixed 60 ms", FixedJitterBuffer(0.060)),
                       ("fixed 600 ms", FixedJitterBuffer(0.600)),
                       ("adaptive", AdaptiveJitterBuffer())]:
        windows, res = windowed_mos(send_s, arrival_s, buf)
        windows["buffer"] = label
        frames.append(windows)
        print(f"{label:12s} late discards {res.late_discards:4d}   mean buffer delay {1000 * res.buffer_delay:6.1f} ms")
    fig, ax = plt.subplots(figsize=(8, 4))
    mos_over_time(pd.concat(frames), ax=ax, by="buffer")
    ax.set_xlabel("seconds since the first RTP packet")
    ax.set_title("satellite call, bob -> alice, MOS per 2 s window")
    plt.show()
    """),
    md("""
    (The spike is at t = 30–32 s of simulated time, about 27 s after the first
    RTP packet.)

    * The 60 ms fixed buffer discards everything during the spike, then
      recovers at once.
    * A 600 ms fixed buffer rides out the spike, but adds that delay to the
      whole call — on a link that already has 300 ms one way, so its MOS sits
      much lower throughout: on the steep part of the delay curve, buffer
      delay is expensive.
    * The adaptive buffer starts out *better* than the fixed 60 ms: the
      satellite hop has little jitter, so `d + 4v` keeps only a few ms of
      buffer. It cannot foresee the spike either; afterwards its delay
      estimate has jumped and decays only slowly (alpha = 0.998), so it pays
      extra delay for half a minute.

    Finally, the same analysis for several Wi-Fi calls (different seeds give
    different loss bursts):
    """),
    code("""
    rows = []
    for seed in range(6):
        sim = Simulation(load_topology("topologies/wifi.yaml"), seed=seed, media=True)
        sim.run(until=80.0)
        q = sim.calls[0].quality
        rows.append({"seed": seed, **{f"MOS at {who}": rep.mos for who, rep in sorted(q.items())},
                     **{f"ppl_% at {who}": rep.ppl for who, rep in sorted(q.items())}})
    pd.DataFrame(rows).round(2)
    """),
    md("""
    ## Exercises

    1. Find the smallest fixed buffer that keeps late discards below 1 % for
       the synthetic stream above. How does it change if the jitter is Pareto
       (heavy-tailed) instead of exponential with the same mean?
    2. Using the E-model, compute the largest random packet loss that keeps
       PCMU above MOS 4.0, and the same for G.729. Which codec is more robust
       in absolute terms, and which in relative terms?
    3. Edit `wifi.yaml` (as a dict) to keep 3 % mean loss but change
       `mean_burst` from 1 to 10. Plot the calls' MOS against the measured
       BurstR.
    4. For the satellite scenario, what jitter-buffer delay maximises the
       call's MOS, averaged over the whole call? Explain the optimum.
    5. Use `simvoip.media.fastpath.simulate_calls` (vectorised, thousands of
       calls) with a `LinkModel` like the Wi-Fi hop to get a MOS
       distribution, and compare its mean with the per-packet simulations.
    """),
]


# ---------------------------------------------------------------------------------------
# 5. Capacity planning
# ---------------------------------------------------------------------------------------
NB5 = [
    md("""
    # 5. Capacity planning: Poisson calls, Erlang B and proxy overload

    **What this notebook teaches.** How telephone engineers size a system.
    You will

    * generate Poisson call arrivals with exponential holding times and check
      their statistics;
    * offer them to a trunk of *N* lines and measure the fraction of calls
      that find every line busy, against the **Erlang B** formula;
    * dimension a trunk for a target blocking probability;
    * push a SIP proxy with limited processing capacity past its limit
      (`topologies/overload.yaml`) and watch **retransmissions amplify the
      load** until the proxy collapses.
    """),
    code(prelude()),
    md("""
    ## Poisson arrivals

    A `traffic:` source of type `poisson` (YAML) or a `PoissonSource` (code)
    places calls with exponential inter-arrival times (mean 1/rate) and
    exponential holding times. `poisson_calls` shows the schedule a source
    produces for a seed, without running anything.
    """),
    code("""
    from math import factorial

    from simvoip.sim.traffic import PoissonSource, poisson_calls

    source = PoissonSource("pbx", "line0", rate=0.5, mean_duration=20.0, start=0.0, stop=4000.0)
    calls = poisson_calls(source, seed=1, index=0)
    at = np.array([c.at for c in calls])
    hold = np.array([c.duration for c in calls])
    gaps = np.diff(at)
    print(f"{len(calls)} calls; mean gap {gaps.mean():.3f} s (expect {1 / source.rate}), "
          f"mean holding {hold.mean():.2f} s (expect {source.mean_duration})")

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    axes[0].hist(gaps, bins=40, density=True, alpha=0.7, label="measured")
    x = np.linspace(0, gaps.max(), 200)
    axes[0].plot(x, source.rate * np.exp(-source.rate * x), label="exponential, rate 0.5/s")
    axes[0].set_xlabel("inter-arrival time (s)")
    axes[0].legend()
    per_minute = np.bincount((at // 60).astype(int))
    k = np.arange(per_minute.max() + 1)
    lam = source.rate * 60
    axes[1].hist(per_minute, bins=np.arange(per_minute.max() + 2) - 0.5, density=True, alpha=0.7, label="measured")
    axes[1].plot(k, [np.exp(-lam) * lam ** i / factorial(i) for i in k], "o-", label="Poisson, mean 30")
    axes[1].set_xlabel("calls per minute")
    axes[1].legend()
    plt.show()
    """),
    md("""
    ## Erlang B: a trunk of N lines

    Offered traffic in **erlangs** is *A* = arrival rate × mean holding time.
    If calls that find all *N* lines busy are lost (not queued), the blocking
    probability is Erlang's B formula

    $$B(A, N) = \\frac{A^N / N!}{\\sum_{k=0}^{N} A^k / k!},$$

    which holds for Poisson arrivals and *any* holding-time distribution with
    that mean.

    **The trunk model.** We build a small PBX in code: a `pbx` endpoint joined
    to *N* phones `line0 … line{N-1}`. For each Poisson arrival we look for a
    line with no call in progress (asking the lines' user agents), and place a
    real SIP call to the first free one (INVITE, ringing, answer after 1 s,
    BYE after the holding time). If every line is busy the call is *blocked*
    and counted, not placed. A line is busy from the INVITE's arrival until
    its call has ended (BYE), so the **line holding time** is the drawn
    talk time (mean 20 s) plus the 1 s the phone rings before answering plus
    about 10 ms of signalling: 21.01 s on average.

    A finite run draws a little more or less traffic than its nominal rate,
    so we compute the offered traffic that was *actually drawn*: the number
    of arrivals and their talk times (blocked calls included) over the run,
    $A = (\\sum_i \\text{talk}_i + n \\cdot 1.01\\,\\text{s}) / \\text{horizon}$,
    and compare against Erlang B at that *A*. The nominal
    $A = \\lambda \\cdot 21.01$ s is shown too.
    """),
    code("""
    from simvoip import Simulation, Topology
    from simvoip.analysis.erlang import erlang_b, servers_for_blocking


    def trunk_run(lines, rate, mean_duration=20.0, horizon=3000.0, seed=1):
        topo = Topology(name=f"trunk-{lines}")
        topo.add_endpoint("pbx", domain="pbx.example")
        names = [f"line{i}" for i in range(lines)]
        for name in names:
            topo.add_endpoint(name, domain="pstn.example")
            topo.add_link("pbx", name, delay=0.005)
        sim = Simulation(topo, seed=seed, media=False)
        arrivals = poisson_calls(PoissonSource("pbx", names[0], rate=rate, mean_duration=mean_duration,
                                               stop=horizon), seed=seed, index=0)
        placed, blocked = [], []

        def busy(line):
            return any(c.ended_at is None for c in sim.user_agents[line].calls.values())

        def arrive(spec):
            free = [name for name in names if not busy(name)]
            if free:
                placed.append(sim.call("pbx", free[0], at=sim.now, duration=spec.duration))
            else:
                blocked.append(spec)

        for spec in arrivals:
            sim.at(spec.at, lambda spec=spec: arrive(spec))
        sim.run(until=horizon + 10 * mean_duration)
        # Line occupancy of each call, measured at the line (callee side).
        holding = [c.callee_record.ended_at - c.callee_record.started_at for c in placed
                   if c.callee_record is not None and c.callee_record.ended_at is not None]
        return {"lines": lines, "rate": rate, "arrivals": len(arrivals), "blocked": len(blocked),
                "answered": sum(c.outcome == "answered" for c in placed),
                "mean_holding_s": float(np.mean(holding)),
                # the talk time actually drawn for every arrival, placed or blocked
                "drawn_talk_s": sum(spec.duration for spec in arrivals), "horizon": horizon}

    one = trunk_run(lines=5, rate=0.25)
    one
    """),
    code("""
    rows = []
    EXTRA = 1.0 + 0.01                  # ringing + signalling (s) on top of the talk time
    for i, rate in enumerate([0.1, 0.2, 0.3, 0.45]):
        r = trunk_run(lines=5, rate=rate, seed=10 + i)   # independent runs
        r["nominal_erlangs"] = r["rate"] * (20.0 + EXTRA)
        r["offered_erlangs"] = (r.pop("drawn_talk_s") + r["arrivals"] * EXTRA) / r.pop("horizon")
        r["measured_blocking"] = r["blocked"] / r["arrivals"]
        r["erlang_b"] = erlang_b(r["offered_erlangs"], r["lines"])
        rows.append(r)
    blocking = pd.DataFrame(rows)
    # Rough 95 % interval: binomial, treating arrivals as independent trials.
    blocking["ci95"] = 1.96 * np.sqrt(blocking["erlang_b"] * (1 - blocking["erlang_b"]) / blocking["arrivals"])
    blocking.round(4)
    """),
    code("""
    grid = np.linspace(0.1, 11, 200)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(grid, [erlang_b(a, 5) for a in grid], label="Erlang B, N = 5")
    ax.errorbar(blocking["offered_erlangs"], blocking["measured_blocking"], yerr=blocking["ci95"],
                fmt="o", capsize=3, label="simulated SIP calls (±95 % CI)")
    ax.set_xlabel("offered traffic A (erlangs)")
    ax.set_ylabel("blocking probability")
    ax.legend()
    plt.show()
    """),
    md("""
    The interval is only indicative: successive arrivals see correlated line
    states, so the real uncertainty is somewhat larger than the binomial one.
    Longer runs (`horizon=`) shrink it.

    ### The same with a `trunk` node

    simvoip also has a ready-made trunk group / PSTN gateway: a node of
    `type: trunk` with `channels` circuits. It answers at once, holds a channel
    per call until the call has finished, and refuses a call that finds every
    channel busy with **503 Service Unavailable** and a `Retry-After` header
    (RFC 3261 21.5.4). Its core counts `offered` and `blocked` calls. Here the
    whole scenario is data: a Poisson `traffic` source in the topology.
    """),
    code("""
    def gateway_run(rate, channels=5, mean_duration=20.0, horizon=3000.0, seed=1):
        topo = Topology.from_dict({
            "name": "gateway",
            "nodes": [{"name": "pbx", "type": "endpoint", "domain": "pbx.example"},
                      {"name": "gw", "type": "trunk", "channels": channels}],
            "links": [{"between": ["pbx", "gw"], "delay": 0.005}],
            "traffic": [{"type": "poisson", "from": "pbx", "to": "gw", "rate": rate,
                         "mean_duration": mean_duration, "start": 0.0, "stop": horizon}],
        }, source="gateway")
        sim = Simulation(topo, seed=seed, media=False)
        sim.run(until=horizon + 10 * mean_duration)
        return sim

    rows = []
    for i, rate in enumerate([0.15, 0.3]):
        gw_sim = gateway_run(rate, seed=20 + i)
        gw = gw_sim.user_agents["gw"]
        # answered at once: holding = drawn talk time + ~10 ms of signalling
        a = sum(c.duration + 0.01 for c in gw_sim.calls) / 3000.0   # horizon of gateway_run
        rows.append({"rate": rate, "offered_erlangs": a, "offered": gw.offered, "blocked": gw.blocked,
                     "measured_blocking": gw.blocking(), "erlang_b": erlang_b(a, 5)})
    pd.DataFrame(rows).round(4)
    """),
    code("""
    refused = [c for c in gw_sim.calls if c.final_status == 503]
    print(refused[0], refused[0].outcome)
    print(gw_sim.trace.ladder_text(call_id=refused[0].call_id))
    """),
    md("""
    **Dimensioning.** The inverse question: how many lines keep blocking
    below a target? `servers_for_blocking` answers it from the formula. Note
    the economy of scale: big trunks run at a much higher occupancy for the
    same grade of service.
    """),
    code("""
    table = []
    for a in [1, 2, 5, 10, 20, 50, 100]:
        n = servers_for_blocking(a, 0.01)
        table.append({"offered_erlangs": a, "lines_for_1%_blocking": n,
                      "blocking": erlang_b(a, n), "occupancy_per_line": a * (1 - erlang_b(a, n)) / n})
    pd.DataFrame(table).round(4)
    """),
    md("""
    ## Proxy overload: retransmissions amplify the load

    In `topologies/overload.yaml` all calls cross one proxy that processes 50
    SIP messages per second (`capacity: 50`) and holds at most 20 waiting
    (`queue: 20`); beyond that it drops messages (cause `overload`). Two
    Poisson sources call bob.

    A call costs about 6 messages *at the proxy* (INVITE, 180, 200, ACK, BYE,
    200), so we expect trouble near 50 / 6 ≈ 8 calls/s. But the failure is
    worse than a queue simply filling: every dropped INVITE or response
    triggers a retransmission (timers A, E, G and the 2xx retransmissions),
    which adds load exactly when there is no capacity left.

    We vary the total call rate (short holding times, 20 s of arrivals, SIP
    only) and count everything that arrives at the proxy.
    """),
    code("""
    import yaml

    from simvoip.analysis import metrics


    def overload_run(total_rate, arrivals_for=20.0, seed=5):
        data = yaml.safe_load(open("topologies/overload.yaml"))
        for source in data["traffic"]:
            source.update(rate=total_rate / len(data["traffic"]), stop=arrivals_for, mean_duration=10.0)
        sim = Simulation(Topology.from_dict(data, source=f"overload at {total_rate}/s"), seed=seed, media=False)
        sim.run(until=arrivals_for + 60.0)
        df = sim.trace.to_dataframe()
        sip = df[df["kind"] == "sip"]
        at_proxy = sip[((sip["event"] == "recv") & (sip["node"] == "proxy"))
                       | ((sip["event"] == "drop") & (sip["cause"] == "overload"))]
        sends = sip[sip["event"] == "send"]
        rtx = metrics.retransmission_flags(sip).loc[sends.index]
        calls = pd.DataFrame([c.summary() for c in sim.calls])
        return sim, {
            "call_rate": total_rate, "calls": len(calls),
            "answered_%": 100 * (calls["outcome"] == "answered").mean(),
            "mean_setup_s": calls["setup_time"].mean(),
            "retransmissions_per_call": calls["retransmissions"].mean(),
            "msgs_at_proxy_per_call": len(at_proxy) / len(calls),
            "peak_msgs_per_s": int(np.bincount(at_proxy["time"].astype(int)).max()),
            "overload_drops": int((sip["cause"] == "overload").sum()),
            "retransmitted_share_%": 100 * rtx.mean(),
        }

    runs = {}
    rows = []
    for rate in [2, 4, 8, 10, 12, 14]:
        runs[rate], row = overload_run(rate)
        rows.append(row)
    overload = pd.DataFrame(rows)
    overload.round(2)
    """),
    code("""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ax = axes[0]
    ax.plot(overload["call_rate"], overload["msgs_at_proxy_per_call"], "o-",
            label="messages arriving at the proxy, per call")
    ax.axhline(6, color="0.4", ls="--", label="6 per call: no retransmissions")
    ax.axvline(50 / 6, color="C3", ls=":", label="capacity: 50 msg/s / 6 = 8.3 calls/s")
    ax.set_xlabel("offered calls per second")
    ax.set_ylabel("messages per call")
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.plot(overload["call_rate"], overload["mean_setup_s"], "o-", label="mean set-up time (s)")
    ax.plot(overload["call_rate"], overload["retransmissions_per_call"], "s-",
            label="retransmissions per call (caller + callee)")
    ax.set_xlabel("offered calls per second")
    ax.legend(fontsize=8)
    plt.show()
    """),
    md("""
    Below about 8 calls/s nothing is retransmitted and the load is exactly
    proportional to the call rate. Past the proxy's capacity the messages
    offered to it grow much faster than the calls — a large share of them are
    retransmissions — and set-up times jump from about one second to several. This positive feedback is why SIP overload control exists
    (RFC 5390, RFC 7339): a proxy should shed load early, e.g. with 503
    Service Unavailable and Retry-After, instead of silently dropping.

    The ladder of one call in the overloaded run shows the mechanism:
    """),
    code("""
    sim = runs[12]
    worst = max(sim.calls, key=lambda c: c.retransmissions)
    print(worst, "retransmissions:", worst.retransmissions)
    print(sim.trace.ladder_text(call_id=worst.call_id, end=worst.at + 12.0))
    """),
    code("""
    from simvoip.analysis.plots import pdd_histogram

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for rate in [8, 12]:
        per_call = pd.DataFrame([c.summary() for c in runs[rate].calls])
        pdd_histogram(per_call, ax=ax, bins=np.linspace(0, 12, 49))
    for patch in ax.patches:
        patch.set_alpha(0.6)
    ax.legend(["8 calls/s", "12 calls/s"])
    ax.set_title("post-dial delay below and above the proxy's capacity")
    plt.show()
    """),
    md("""
    ## Exercises

    1. Repeat the trunk experiment with *N* = 10 lines and constant instead of
       exponential holding times (replace `spec.duration` by the mean). Does
       the measured blocking still follow Erlang B? Why?
    2. Calls that are blocked often retry. Add a retry after an exponential
       delay (mean 30 s) for blocked calls and measure the blocking seen by
       first attempts. Why does Erlang B underestimate it?
    3. Using `erlang_b`, find how many erlangs a 30-line trunk can carry at
       1 % and at 5 % blocking. How much does the occupancy per line change?
    4. In the overload scenario, double the proxy's `queue`. Does the collapse
       move to a higher call rate, and what happens to post-dial delay?
    5. Make the proxy stateless (`params: {stateful: false}`) and rerun the
       overload sweep. Which retransmissions does a stateful proxy absorb that
       a stateless one forwards?
    """),
]


# ---------------------------------------------------------------------------------------
# 6. Property-based testing
# ---------------------------------------------------------------------------------------
NB6 = [
    md("""
    # 6. Property-based testing of SIP behaviour

    **What this notebook teaches.** How to test a protocol implementation
    by stating *properties* that must hold for every input and letting
    [hypothesis](https://hypothesis.readthedocs.io) search for a counterexample,
    then shrink it to a minimal one. You will

    * generate valid SIP messages (`simvoip.testing.strategies`) and check that
      they survive encoding and parsing, and fuzz the parser with mutated bytes;
    * test a transaction over the simulated network against an exact oracle,
      for every loss pattern hypothesis can think of;
    * let the `NetworkMachine` — a hypothesis state machine that *is* the
      network (it decides which packet is delivered, dropped, duplicated or
      delayed, and when time passes) — hunt down user agents with planted bugs
      (`simvoip.testing.buggy`) and print a minimal, replayable schedule.
    """),
    code(prelude(numpy=False, pyplot=False)),
    code("""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    # Deterministic, bounded searches so the notebook gives the same output every run
    # (no "explain" phase: it re-runs failing examples under coverage, which is slow).
    QUICK = settings(max_examples=100, derandomize=True, database=None, deadline=None,
                     phases=[Phase.explicit, Phase.generate, Phase.shrink],
                     suppress_health_check=[HealthCheck.too_slow])
    """),
    md("""
    ## Property 1: encode / parse round trip

    `simvoip.testing.strategies` builds typed SIP objects: URIs, Via, From/To
    with tags, CSeq, requests, responses with SDP bodies. The first property of
    any codec: **parsing what we encoded gives back the same message**.
    """),
    code("""
    from simvoip.sip import ParseError, parse_message
    from simvoip.testing import strategies as sst

    seen = []

    @QUICK
    @given(sst.messages())
    def test_round_trip(message):
        seen.append(message)
        assert parse_message(message.encode()) == message

    test_round_trip()
    print(f"{len(seen)} messages generated, all round-tripped. One of them:\\n")
    print(max(seen, key=lambda m: len(m.encode())).encode().decode(errors="replace")[:1500])
    """),
    md("""
    ## Property 2: the parser never crashes

    A parser faces hostile bytes. The property: for *any* input it either
    returns a message or raises `ParseError` — never another exception.
    `mutated_messages()` takes valid messages and flips bits, deletes,
    inserts, truncates, swaps lines, breaks Content-Length ...
    """),
    code("""
    from collections import Counter

    outcomes = Counter()

    @settings(QUICK, max_examples=200)
    @given(sst.mutated_messages())
    def test_parser_is_total(data):
        try:
            parse_message(data)
            outcomes["parsed"] += 1
        except ParseError:
            outcomes["ParseError"] += 1
        # Anything else propagates and fails the test.

    test_parser_is_total()
    outcomes
    """),
    md("""
    ## Property 3: a transaction against an exact oracle

    Properties can also be about *behaviour*. Take one OPTIONS request from
    alice to bob over a link that loses packets by a fixed pattern (a
    `trace` loss model: entry *k* says whether the *k*-th packet in that
    direction is lost; after the pattern, nothing is lost). Both directions
    replay the pattern independently.

    From RFC 3261 we can predict the outcome exactly. The client sends copy
    *i* at the NICT schedule time $t_i$ (0, 0.5, 1.5, 3.5, … s) until it has a
    response; bob answers every copy that arrives; the transaction succeeds at
    $t_i + 2d$ for the first copy *i* that arrives and whose answer arrives,
    else times out at 32 s. Hypothesis draws the patterns.
    """),
    code("""
    from simvoip import Simulation, Topology
    from simvoip.sim.driver import make_request

    SCHEDULE = [0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    DELAY = 0.010

    def oracle(pattern):
        \"\"\"(success time or None, number of request copies sent) predicted from the RFC.\"\"\"
        def lost(k):
            return k < len(pattern) and pattern[k]

        answers = 0                       # responses bob has sent so far
        for i, t in enumerate(SCHEDULE):
            if lost(i):
                continue                  # copy i lost on the way to bob
            answers += 1
            if not lost(answers - 1):
                return t + 2 * DELAY, i + 1
        return None, len(SCHEDULE)

    def run_options(pattern):
        topo = Topology(name="oracle")
        topo.add_endpoint("alice", domain="a.example")
        topo.add_endpoint("bob", domain="b.example")
        topo.add_link("alice", "bob", delay=DELAY,
                      loss_model={"type": "trace", "pattern": [int(x) for x in pattern], "repeat": False})
        sim = Simulation(topo, seed=0, media=False)
        sim.serve_options("bob")
        out = sim.send_request("alice", make_request("OPTIONS", "alice", "sip:bob@bob",
                                                     call_id="p3", branch="z9hG4bK-p3"), at=0.0)
        sim.run(until=40.0)
        copies = len(sim.trace.where(event="send", node="alice"))
        return out, copies

    checked = []

    @settings(QUICK, max_examples=100)
    @given(st.lists(st.booleans(), min_size=1, max_size=14))
    def test_options_matches_oracle(pattern):
        expected_at, expected_copies = oracle(pattern)
        out, copies = run_options(pattern)
        assert copies == expected_copies
        if expected_at is None:
            assert out.final is None and out.timed_out_at == 32.0
        else:
            assert out.final is not None and out.final.status_code == 200
            assert abs(out.final_at - expected_at) < 1e-9
        checked.append((pattern, expected_at))

    test_options_matches_oracle()
    timeouts = [c for c in checked if c[1] is None]
    print(len(checked), "loss patterns checked (x = lost), of which", len(timeouts), "timed out; e.g.")
    examples = sorted(checked, key=lambda c: (c[1] is None, c[1] or 0.0))
    for pattern, at in examples[::max(1, len(examples) // 6)] + timeouts[:2]:
        print("  ", "".join("x" if p else "." for p in pattern).ljust(14), "->",
              "timeout at 32 s" if at is None else f"200 OK at {at:.2f} s")
    """),
    md("""
    When a property fails, hypothesis *shrinks* the input: it keeps
    simplifying it while the test still fails, and reports the simplest
    failing case. Let us try a plausible but wrong belief: "if at most one
    packet is lost (per direction), the 200 OK arrives within a second".
    """),
    code("""
    @settings(QUICK, max_examples=200)
    @given(st.lists(st.booleans(), min_size=1, max_size=14))
    def test_wrong_belief(pattern):
        if sum(pattern) <= 1:
            out, _ = run_options(pattern)
            assert out.final_at is not None and out.final_at < 1.0, f"200 OK only at {out.final_at} s"

    try:
        test_wrong_belief()
        print("no counterexample found")
    except AssertionError as error:
        print("counterexample:", error)
        for note in getattr(error, "__notes__", []):
            print(note)
    """),
    md("""
    The shrunk counterexample is the single-element pattern `[True]`: the first
    packet in *each* direction is lost. Copy 1 of the request is lost; copy 2
    (t = 0.5 s) arrives, but bob's first response is lost too; copy 3
    (t = 1.5 s) gets the retransmitted 200 OK back at 1.52 s. One lost
    packet per direction costs two retransmission intervals, not one.
    Properties check your own reasoning as much as the code.

    ## The network as a state machine

    `NetworkMachine` (a hypothesis `RuleBasedStateMachine`) owns a virtual
    network of phones. Its *rules* are everything that can happen: place a
    call, hang up, let time pass, deliver / drop / duplicate / delay /
    reorder a packet in flight, lose the next packet of a kind, take a link
    down, crash a node. After every step, and again after a quiet "settle"
    period at the end, it checks invariants such as

    * every ACK / CANCEL matches an INVITE that was sent;
    * a transaction follows its RFC state machine;
    * a callee that answered a call eventually sees it confirmed (the caller
      got the 2xx), unless more packets were lost than the retransmissions
      can cover;
    * a BYE that was answered really ended the dialog on both sides.

    First, a hand-written schedule: one call in which the first 200 OK is
    lost. `replay` runs a schedule step by step.
    """),
    code("""
    from simvoip.testing import NetworkMachine, Scenario, render_ladder, replay


    class CorrectPair(NetworkMachine):
        \"\"\"Two correct phones, alice and bob.\"\"\"

    steps = [("place_call", "alice", "bob", None, "2xx"),   # this call's first 2xx gets lost
             ("advance_time", 40.0)]
    machine = replay(CorrectPair, steps)
    caller, callee, call_id = machine.call_ids[0]
    print("alice's call answered at", machine.net.nodes["alice"].call(call_id).answered_at)
    print(render_ladder(machine.net.log, list(machine.net.nodes)))
    """),
    md("""
    bob's UA core retransmitted the 200 OK after T1 (RFC 3261 13.3.1.4),
    alice got it and sent the ACK: the invariants hold.

    ## Hunting planted bugs

    `simvoip.testing.buggy` has user agents that each break one RFC rule.
    `NoRetransmit2xxUA` never retransmits its 2xx. With no loss it works
    perfectly — an example-based test of "alice calls bob" passes. We point
    the state machine at a pair where bob runs the buggy UA and let
    hypothesis search (100 random schedules of up to 10 steps, deterministic).
    """),
    code("""
    from hypothesis.stateful import run_state_machine_as_test

    from simvoip.testing import InvariantViolation
    from simvoip.testing.buggy import NoRetransmit2xxUA, WrongAckCSeqUA

    HUNT = settings(QUICK, max_examples=100, stateful_step_count=10)

    class NoRetransmit2xx(NetworkMachine):
        scenario = Scenario(factories=(("bob", NoRetransmit2xxUA),))

    def hunt(machine):
        try:
            run_state_machine_as_test(machine, settings=HUNT)
        except InvariantViolation as failure:
            return failure
        return None

    failure = hunt(NoRetransmit2xx)
    print(failure.report if failure else "no bug found")
    """),
    md("""
    Hypothesis found a schedule that breaks the invariant and shrank it to
    (nearly) the essentials: place a call and lose its 2xx. The report is
    ready to paste into a regression test (`replay(...)`), followed by the
    ladder of the failing run: the 200 OK is dropped, bob's `2xx` timer fires
    but sends nothing, and 32 s later bob gives up waiting for the ACK and
    sends BYE (RFC 3261 13.3.1.4).

    The same schedule on correct phones is harmless — the bug is bob's:
    """),
    code("""
    machine = replay(CorrectPair, failure.steps)
    print("correct phones: call answered at alice at t =",
          machine.net.nodes["alice"].call(machine.call_ids[0][2]).answered_at)
    """),
    md("""
    A second planted bug: `WrongAckCSeqUA` acknowledges a 2xx with the CSeq
    number of the INVITE plus one (RFC 3261 13.2.2.4 says it MUST be the
    same). No loss is needed this time; the shrunk schedule is one step.
    """),
    code("""
    class WrongAckCSeq(NetworkMachine):
        scenario = Scenario(ua_factory=WrongAckCSeqUA)

    failure = hunt(WrongAckCSeq)
    print("violations:")
    for v in failure.violations:
        print("  -", v)
    print("minimal schedule:", failure.steps)
    """),
    md("""
    ## Exercises

    1. Hunt the third planted bug, `ForgetsByeUA` (it answers BYE but keeps
       its dialog). How many steps does the shrunk schedule have, and why does
       it need lost packets?
    2. Write a property for `simvoip.sip.sdp` / `simvoip.sip.offer_answer`:
       for any offer from `sst.sdp_offers()`, the answer contains only
       payload types that the offer contained.
    3. Extend the oracle of property 3 to an INVITE (`make_request("INVITE", ...)`
       with a UA on bob) and find out what changes when bob sends 180 Ringing.
    4. Plant your own bug: subclass `simvoip.sip.ua.UserAgent` so that it
       answers re-INVITEs with the wrong To tag, give it to one phone with
       `Scenario(factories=(("bob", MyUA),))`, and see whether the invariants
       catch it. If not, which invariant would?
    5. Compare the hunt's cost with `stateful_step_count=5` and `=20`: which
       bugs still get found, and how long does the search take?
    """),
]


NOTEBOOKS: dict[str, list[nbformat.NotebookNode]] = {
    "01_sip_basics.ipynb": NB1,
    "02_loss_and_retransmissions.ipynb": NB2,
    "03_proxies_and_forking.ipynb": NB3,
    "04_voice_quality.ipynb": NB4,
    "05_capacity_planning.ipynb": NB5,
    "06_property_testing.ipynb": NB6,
}


def build() -> dict[str, nbformat.NotebookNode]:
    """All notebooks, by file name (without outputs)."""
    return {name: notebook(cells) for name, cells in NOTEBOOKS.items()}


def render(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def main(argv: list[str]) -> int:
    targets = argv or list(NOTEBOOKS)
    for name, nb in build().items():
        if name not in targets:
            continue
        nbformat.validate(nb)
        (HERE / name).write_text(render(nb), encoding="utf-8")
        print(f"wrote notebooks/{name} ({len(nb.cells)} cells)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
