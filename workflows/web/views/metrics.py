"""The metrics page."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.utils.translation import gettext as _

from ... import formats, selectors
from ...services import relay
from .. import charts
from .common import page

# --- metrics -------------------------------------------------------------------------------

@login_required
def metrics(request):
    mp = selectors.metrics_page(user=request.user)
    data, chans, weeks, weekly, step_seconds = mp.data, mp.data["channels"], mp.weeks, mp.weekly, mp.step_seconds
    frt = charts.frt_histogram(mp.frt_values)
    top = max(step_seconds.values(), default=0)
    # The unit follows the data: seconds, minutes or hours.
    step_scale = 3600 if top >= 2 * 3600 else 60 if top >= 120 else 1
    step_values = {name: round(v / step_scale, 3) for name, v in step_seconds.items()}
    step_title = {3600: _("Time in each step (median, hours)"), 60: _("Time in each step (median, minutes)"),
                  1: _("Time in each step (median, seconds)")}[step_scale]
    step_unit = {3600: (_("hours"), _("Hours")), 60: (_("minutes"), _("Minutes")), 1: (_("seconds"), _("Seconds"))}[step_scale]
    ctx = {
        "data": data,
        "frt_chart": charts.bar_chart(title=_("First-response time"), unit=_("messages"),
                                      labels=[b for b, _n in frt], series={_("Messages"): [n for _b, n in frt]}),
        "frt": frt,
        "weekly_chart": charts.bar_chart(title=_("Replies and broadcasts per week"), unit=_("posts"),
                                         labels=[formats.date(formats.week_start(w)) for w in weeks],
                                         series={_("Replies"): [weekly[w]["replies"] for w in weeks],
                                                 _("Broadcasts"): [weekly[w]["broadcasts"] for w in weeks]}),
        "weekly": weekly,
        "steps_chart": charts.bar_chart(title=step_title, unit=step_unit[0], labels=list(step_values),
                                        series={step_unit[1]: list(step_values.values())}),
        "step_seconds": step_seconds,
        "urgent_chart": charts.bar_chart(title=_("Urgent bypasses per channel"), unit=_("posts"),
                                         labels=[c["channel_name"] for c in chans],
                                         series={_("Urgent"): [c["urgent"] for c in chans]}),
        # The relay's state now, for the whole service (as /readyz shows it).
        "outbox": relay.outbox_lag(),
        "voices": selectors.conversation_voices(user=request.user, since=data["since"], until=data["until"]),
    }
    return page(request, "web/metrics.html", ctx)
