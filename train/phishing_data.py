"""Generated training mail for the phishing model: phishing and legitimate look-alikes in five
languages, written for this project (issue 21), from a fixed seed.

No public corpus could be brought onto this machine for training (see docs/policy.md, "Data"):
these are hand-written sentence pools combined at random into messages, so the model learns
which *tells* separate the two (sender name vs domain, link hosts, HTML tricks, attachments,
lures with urgency) rather than any one wording.  The legitimate side is deliberately hard:
genuine brand notifications from the brands' own domains, newsletters through click trackers,
invoices with PDFs, prize-like loyalty mail, parents writing from webmail, shared documents.
"""

from __future__ import annotations

import random
from email.message import EmailMessage

LANGS = ["en", "de", "pt", "fr", "es"]

# brand, the words its mail uses, its real domain
BRANDS = [
    ("PayPal", "paypal.com"),
    ("Microsoft 365", "microsoft.com"),
    ("Outlook", "outlook.com"),
    ("Sparkasse", "sparkasse.de"),
    ("Correios", "correios.com.br"),
    ("DHL", "dhl.de"),
    ("Netflix", "netflix.com"),
    ("Amazon", "amazon.de"),
    ("Itaú", "itau.com.br"),
    ("Bradesco", "bradesco.com.br"),
    ("Caixa", "caixa.gov.br"),
    ("La Poste", "laposte.fr"),
    ("Correos", "correos.es"),
    ("BBVA", "bbva.es"),
    ("HMRC", "gov.uk"),
    ("Royal Mail", "royalmail.com"),
    ("DocuSign", "docusign.net"),
    ("WeTransfer", "wetransfer.com"),
    ("Apple ID", "apple.com"),
    ("Volksbank", "volksbank.de"),
    ("Commerzbank", "commerzbank.de"),
    ("Mercado Livre", "mercadolivre.com.br"),
    ("Ameli", "ameli.fr"),
    ("Santander", "santander.com.br"),
    ("Webmail", ""),
    ("Nubank", "nubank.com.br"),
    ("DPD", "dpd.de"),
    ("Banco do Brasil", "bb.com.br"),
    ("Postbank", "postbank.de"),
    ("Chronopost", "chronopost.fr"),
    ("Dropbox", "dropbox.com"),
]
SYL = [
    "ka",
    "lo",
    "mi",
    "ser",
    "vex",
    "tra",
    "no",
    "pi",
    "qua",
    "zen",
    "rob",
    "del",
    "fin",
    "mar",
    "tek",
    "sol",
    "vi",
    "ra",
    "po",
    "lux",
]
TLDS_NORMAL = ["com", "net", "org", "de", "com.br", "fr", "es", "info", "co", "eu", "pt", "co.uk"]
TLDS_CHEAP = ["xyz", "top", "click", "shop", "online", "site", "icu", "live", "store", "sbs", "cfd", "buzz"]
FREE_HOSTS = [
    "web.app",
    "pages.dev",
    "netlify.app",
    "vercel.app",
    "firebaseapp.com",
    "weeblysite.com",
    "wixsite.com",
    "r2.dev",
    "github.io",
    "workers.dev",
]
SHORT = ["bit.ly", "tinyurl.com", "cutt.ly", "is.gd", "rb.gy", "t.ly", "shorturl.at"]
WEBMAIL = [
    "gmail.com",
    "outlook.com",
    "hotmail.com",
    "yahoo.com",
    "gmx.de",
    "uol.com.br",
    "bol.com.br",
    "orange.fr",
    "web.de",
]

PHISH = {
    "en": {
        "greet": [
            "Dear Customer,",
            "Dear user,",
            "Hello {rcpt},",
            "Dear valued member,",
            "Hi,",
            "Dear account holder,",
            "",
        ],
        "account": [
            "We noticed unusual activity on your {brand} account and have temporarily limited access.",
            "Your {brand} account has been suspended because we could not verify your information.",
            "For your security we have locked your account after several failed sign-in attempts.",
            "Your mailbox has exceeded its storage limit and new messages are on hold.",
        ],
        "payment": [
            "Your last payment could not be processed. Please update your billing details.",
            "Invoice #{num} is overdue. The outstanding amount of £{amt} must be paid today.",
            "We were unable to renew your subscription because your card was declined.",
            "You are eligible for a tax refund of £{amt}. Submit your details to receive it.",
        ],
        "parcel": [
            "Your parcel could not be delivered because a customs fee of £{fee} is unpaid.",
            "We attempted to deliver your package today. Please confirm your address to rebook delivery.",
            "Shipment {num} is held at our depot. Pay the redelivery fee to release it.",
        ],
        "prize": [
            "Congratulations! You have been selected to receive a £{amt} gift card.",
            "Your loyalty points expire today. Claim your reward now before it is too late.",
        ],
        "doc": [
            "{name} has shared a secure document with you. Sign in to view the file.",
            "You have received an encrypted invoice. Log in with your e-mail account to open it.",
            "A new voicemail was left for you. Access it with your e-mail password.",
        ],
        "act": [
            "Click here to verify your account",
            "Confirm your details",
            "Update payment",
            "Track your parcel",
            "View document",
            "Sign in",
            "Claim now",
            "Restore access",
        ],
        "urg": [
            "If you do not respond within 24 hours your account will be closed.",
            "Failure to act will result in permanent suspension.",
            "This link expires today.",
            "Act immediately to avoid extra charges.",
            "",
        ],
        "sign": ["{brand} Security Team", "{brand} Customer Service", "The {brand} team", "Support"],
        "subj": {
            "account": [
                "Your account has been limited",
                "Security alert: unusual sign-in",
                "Action required: account suspended",
                "Mailbox storage full",
            ],
            "payment": [
                "Payment failed",
                "Invoice #{num} overdue",
                "Update your billing information",
                "Tax refund notification",
            ],
            "parcel": ["Your parcel is waiting", "Delivery failed - action required", "Customs fee unpaid"],
            "prize": ["Congratulations, you have won!", "Your reward is waiting"],
            "doc": ["{name} shared a document with you", "New secure message", "Voicemail received"],
        },
    },
    "de": {
        "greet": [
            "Sehr geehrter Kunde,",
            "Sehr geehrte Kundin, sehr geehrter Kunde,",
            "Hallo {rcpt},",
            "Lieber Kunde,",
            "Guten Tag,",
            "",
        ],
        "account": [
            "Wir haben ungewöhnliche Aktivitäten in Ihrem {brand}-Konto festgestellt. Ihr Konto wurde vorübergehend eingeschränkt.",
            "Ihr Konto wurde gesperrt, da wir Ihre Daten nicht bestätigen konnten.",
            "Aus Sicherheitsgründen müssen Sie Ihre Identität bestätigen. Andernfalls wird Ihr Zugang deaktiviert.",
            "Ihr Postfach ist voll. Eingehende Nachrichten werden zurückgehalten.",
        ],
        "payment": [
            "Ihre letzte Zahlung ist fehlgeschlagen. Bitte aktualisieren Sie Ihre Zahlungsdaten.",
            "Rechnung Nr. {num} ist noch offen. Der offene Betrag von {amt} EUR ist sofort fällig.",
            "Letzte Mahnung: Bitte begleichen Sie den Betrag innerhalb von 48 Stunden.",
            "Sie haben Anspruch auf eine Rückerstattung von {amt} EUR.",
        ],
        "parcel": [
            "Ihr Paket konnte nicht zugestellt werden. Es fällt eine Zollgebühr von {fee} EUR an.",
            "Ihre Sendung {num} liegt in unserem Lager. Bitte bestätigen Sie Ihre Adresse.",
            "Die Zustellung ist fehlgeschlagen. Vereinbaren Sie einen neuen Termin.",
        ],
        "prize": [
            "Herzlichen Glückwunsch! Sie haben einen Gutschein über {amt} EUR gewonnen.",
            "Ihre Prämienpunkte verfallen heute. Jetzt Prämie sichern!",
        ],
        "doc": [
            "{name} hat ein Dokument für Sie freigegeben. Melden Sie sich an, um es anzusehen.",
            "Sie haben eine verschlüsselte Rechnung erhalten. Anmelden mit Ihrem E-Mail-Konto.",
        ],
        "act": [
            "Jetzt bestätigen",
            "Hier klicken",
            "Daten aktualisieren",
            "Zum Kundenkonto",
            "Sendung verfolgen",
            "Dokument öffnen",
            "Jetzt anmelden",
        ],
        "urg": [
            "Wenn Sie nicht innerhalb von 24 Stunden reagieren, wird Ihr Konto dauerhaft gesperrt.",
            "Bitte handeln Sie sofort.",
            "Die Frist endet heute.",
            "",
        ],
        "sign": ["Ihr {brand} Kundenservice", "{brand} Sicherheitsteam", "Mit freundlichen Grüßen, {brand}"],
        "subj": {
            "account": [
                "Ihr Konto wurde eingeschränkt",
                "Sicherheitshinweis zu Ihrem Konto",
                "Wichtig: Bestätigen Sie Ihre Identität",
                "Ihr Postfach ist voll",
            ],
            "payment": [
                "Zahlung fehlgeschlagen",
                "Rechnung {num} - Zahlungserinnerung",
                "Letzte Mahnung",
                "Ihre Rückerstattung",
            ],
            "parcel": ["Ihr Paket wartet auf Sie", "Zustellung fehlgeschlagen", "Zollgebühr offen"],
            "prize": ["Sie haben gewonnen!", "Ihre Prämie wartet"],
            "doc": ["{name} hat ein Dokument freigegeben", "Neue sichere Nachricht"],
        },
    },
    "pt": {
        "greet": ["Prezado cliente,", "Prezado(a) usuário(a),", "Olá {rcpt},", "Caro cliente,", "Olá,", ""],
        "account": [
            "Identificamos uma atividade suspeita na sua conta {brand}. Seu acesso foi bloqueado temporariamente.",
            "Sua conta será suspensa porque seus dados cadastrais estão desatualizados.",
            "Por segurança, é necessário confirmar seus dados para evitar o bloqueio do cartão.",
            "Sua caixa de e-mail está cheia e as mensagens estão retidas.",
        ],
        "payment": [
            "Identificamos um débito pendente em seu nome no valor de R$ {amt}.",
            "Segue a fatura nº {num} com vencimento hoje. Evite juros e multa.",
            "Seu pagamento foi recusado. Atualize seus dados de pagamento.",
            "Você tem uma restituição de R$ {amt} disponível. Confirme seus dados para receber.",
        ],
        "parcel": [
            "Sua encomenda está aguardando o pagamento da taxa de importação de R$ {fee}.",
            "O objeto {num} não pôde ser entregue. Atualize seu endereço.",
            "Seu pacote está retido na alfândega. Regularize para liberar a entrega.",
        ],
        "prize": [
            "Parabéns! Você foi sorteado e ganhou um prêmio de R$ {amt}.",
            "Seus pontos expiram hoje. Resgate agora sua recompensa.",
        ],
        "doc": [
            "{name} compartilhou um documento com você. Faça login para visualizar.",
            "Você recebeu um boleto. Acesse com seu e-mail e senha para abrir.",
        ],
        "act": [
            "Clique aqui",
            "Acessar minha conta",
            "Confirmar dados",
            "Regularizar agora",
            "Rastrear encomenda",
            "Visualizar documento",
            "Resgatar prêmio",
        ],
        "urg": [
            "Caso não regularize em até 24 horas, sua conta será bloqueada.",
            "Evite o bloqueio, faça isso imediatamente.",
            "Último aviso.",
            "",
        ],
        "sign": ["Equipe {brand}", "Central de Atendimento {brand}", "Atenciosamente, {brand}"],
        "subj": {
            "account": [
                "Sua conta foi bloqueada",
                "Alerta de segurança",
                "Atualização cadastral obrigatória",
                "Caixa de entrada cheia",
            ],
            "payment": [
                "Débito pendente em seu nome",
                "Fatura {num} disponível",
                "Pagamento recusado",
                "Restituição disponível",
            ],
            "parcel": ["Sua encomenda está retida", "Entrega não realizada", "Taxa de importação pendente"],
            "prize": ["Parabéns, você ganhou!", "Seus pontos vão expirar"],
            "doc": ["{name} compartilhou um arquivo", "Novo documento disponível"],
        },
    },
    "fr": {
        "greet": [
            "Cher client,",
            "Chère cliente, cher client,",
            "Bonjour {rcpt},",
            "Madame, Monsieur,",
            "Bonjour,",
            "",
        ],
        "account": [
            "Nous avons détecté une activité inhabituelle sur votre compte {brand}. Votre compte a été suspendu.",
            "Votre compte sera bloqué si vous ne confirmez pas vos informations.",
            "Votre boîte aux lettres est pleine, les nouveaux messages sont en attente.",
        ],
        "payment": [
            "Votre dernier paiement a échoué. Veuillez mettre à jour vos informations de paiement.",
            "La facture n° {num} reste impayée. Montant dû : {amt} EUR.",
            "Vous avez droit à un remboursement de {amt} EUR.",
        ],
        "parcel": [
            "Votre colis n'a pas pu être livré. Des frais de douane de {fee} EUR sont à régler.",
            "Votre colis {num} est en attente. Confirmez votre adresse de livraison.",
        ],
        "prize": [
            "Félicitations ! Vous avez gagné une carte cadeau de {amt} EUR.",
            "Vos points expirent aujourd'hui, récupérez votre récompense.",
        ],
        "doc": ["{name} a partagé un document avec vous. Connectez-vous pour le consulter."],
        "act": [
            "Cliquez ici",
            "Confirmer mes informations",
            "Accéder à mon compte",
            "Suivre mon colis",
            "Voir le document",
        ],
        "urg": [
            "Sans réponse sous 48 heures, votre compte sera définitivement fermé.",
            "Agissez immédiatement.",
            "Dernier rappel.",
            "",
        ],
        "sign": ["Le service client {brand}", "L'équipe {brand}"],
        "subj": {
            "account": ["Votre compte a été suspendu", "Alerte de sécurité", "Boîte aux lettres pleine"],
            "payment": ["Échec de paiement", "Facture {num} impayée", "Remboursement en attente"],
            "parcel": ["Votre colis est en attente", "Frais de douane à régler"],
            "prize": ["Félicitations, vous avez gagné !"],
            "doc": ["{name} a partagé un document"],
        },
    },
    "es": {
        "greet": ["Estimado cliente,", "Estimado usuario,", "Hola {rcpt},", "Apreciado cliente,", "Hola,", ""],
        "account": [
            "Hemos detectado actividad sospechosa en su cuenta {brand}. Su cuenta ha sido bloqueada temporalmente.",
            "Su cuenta será suspendida si no verifica sus datos.",
            "Su buzón está lleno y los mensajes entrantes están retenidos.",
        ],
        "payment": [
            "Su último pago ha sido rechazado. Actualice sus datos de pago.",
            "La factura n.º {num} está pendiente. Importe: {amt} EUR.",
            "Tiene un reembolso de {amt} EUR pendiente.",
        ],
        "parcel": [
            "Su paquete no pudo ser entregado. Debe abonar {fee} EUR de aduana.",
            "Su envío {num} está retenido. Confirme su dirección.",
        ],
        "prize": [
            "¡Felicidades! Ha ganado una tarjeta regalo de {amt} EUR.",
            "Sus puntos caducan hoy, reclame su recompensa.",
        ],
        "doc": ["{name} ha compartido un documento con usted. Inicie sesión para verlo."],
        "act": ["Haga clic aquí", "Verificar cuenta", "Acceder", "Seguir envío", "Ver documento"],
        "urg": ["Si no responde en 24 horas su cuenta será cancelada.", "Actúe inmediatamente.", "Último aviso.", ""],
        "sign": ["Atención al cliente {brand}", "Equipo {brand}"],
        "subj": {
            "account": ["Su cuenta ha sido bloqueada", "Alerta de seguridad", "Buzón lleno"],
            "payment": ["Pago rechazado", "Factura {num} pendiente", "Reembolso pendiente"],
            "parcel": ["Su paquete está retenido", "Entrega fallida"],
            "prize": ["¡Ha ganado!"],
            "doc": ["{name} ha compartido un documento"],
        },
    },
}
NAMES = ["Sarah Jones", "Mark Weber", "Ana Souza", "Claire Martin", "Javier López", "Tom Baker", "Julia Schmidt"]
FILLER = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "was",
    "for",
    "on",
    "are",
    "with",
    "as",
    "his",
    "they",
    "be",
    "at",
    "one",
    "have",
    "this",
    "from",
    "or",
    "had",
    "by",
    "hot",
    "word",
    "but",
    "what",
    "some",
    "we",
    "can",
    "out",
    "other",
    "were",
    "all",
    "there",
    "when",
    "up",
    "use",
    "your",
    "how",
    "said",
    "an",
    "each",
    "she",
    "which",
    "do",
    "their",
    "time",
    "if",
    "will",
    "way",
    "about",
    "many",
    "then",
    "them",
    "write",
    "would",
    "like",
    "so",
    "these",
    "her",
    "long",
    "make",
    "thing",
    "see",
    "him",
    "two",
    "has",
    "look",
    "more",
    "day",
    "could",
    "go",
    "come",
]


def _domain(rng: random.Random, cheap: float = 0.35) -> str:
    name = "".join(rng.choice(SYL) for _ in range(rng.randint(2, 4)))
    if rng.random() < 0.3:
        name += "-" + rng.choice(
            ["secure", "service", "online", "app", "web", "info", "br", "de", "help", "mail", "portal"]
        )
    return f"{name}.{rng.choice(TLDS_CHEAP if rng.random() < cheap else TLDS_NORMAL)}"


def _fill(template: str, rng: random.Random, brand: str, rcpt: str) -> str:
    return template.format(
        brand=brand,
        rcpt=rcpt,
        num=rng.randint(10000, 999999),
        amt=rng.randint(49, 2999),
        fee=f"{rng.randint(1, 30)},{rng.randint(10, 99)}",
        name=rng.choice(NAMES),
    )


def _phish_url(rng: random.Random, brand_domain: str) -> tuple[str, str]:
    """(url, kind)"""
    r = rng.random()
    path = "/" + rng.choice(
        [
            "login",
            "verify",
            "secure/update",
            "account/confirm",
            "auth",
            "cliente/atualizar",
            "konto/bestaetigen",
            "compte/verification",
            "track",
            "pay",
            "invoice/view",
            "s/" + "".join(rng.choice("abcdef0123456789") for _ in range(12)),
            "",
        ]
    )
    if r < 0.12:
        return (
            f"http://{rng.randint(23, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}{path}",
            "ip",
        )
    if r < 0.24:
        return (
            f"https://{rng.choice(SHORT)}/{''.join(rng.choice('abcdefghijkmnpqrstuvwxyz23456789') for _ in range(6))}",
            "short",
        )
    if r < 0.40:
        sub = "".join(rng.choice(SYL) for _ in range(3))
        return f"https://{sub}.{rng.choice(FREE_HOSTS)}{path}", "free"
    if r < 0.48 and brand_domain:
        return f"https://{brand_domain.split('.')[0]}.{'com'}.{_domain(rng)}{path}", "deep"
    if r < 0.52:
        return (
            f"https://xn--{''.join(rng.choice(SYL) for _ in range(2))}-{rng.choice(['9ta', 'zxa', 'lua'])}.com{path}",
            "puny",
        )
    return f"https://{'www.' if rng.random() < 0.3 else ''}{_domain(rng)}{path}", "plain"


def phishing(rng: random.Random, i: int) -> EmailMessage:
    lang = rng.choice(LANGS)
    pool = PHISH[lang]
    brand, real = rng.choice(BRANDS)
    kind = rng.choice(["account", "account", "payment", "payment", "parcel", "prize", "doc"])
    rcpt = rng.choice(["s.patel@oakfield.example", "office@birchwood.example", "j.lewis@oakfield.example"])
    rcpt_word = rcpt if rng.random() < 0.5 else rcpt.split("@")[0]
    sender_dom = rng.choice(WEBMAIL) if rng.random() < 0.12 else _domain(rng)
    msg = EmailMessage()
    disp = rng.choice(
        [
            brand,
            f"{brand} Service",
            f"{brand} Kundenservice" if lang == "de" else f"{brand} Support",
            f"{brand} <no-reply@{real or 'mail.com'}>",
            "Customer Service",
            "Security",
        ]
    )
    local = rng.choice(
        [
            "no-reply",
            "info",
            "service",
            "support",
            "contato",
            "kundenservice",
            "noreply",
            "alert",
            "admin",
            "".join(rng.choice(SYL) for _ in range(3)),
        ]
    )
    msg["From"] = f"{disp} <{local}@{sender_dom}>"
    msg["To"] = rcpt if rng.random() < 0.8 else "undisclosed-recipients:;"
    if rng.random() < 0.3:
        msg["Reply-To"] = f"{local}@{rng.choice(WEBMAIL) if rng.random() < 0.5 else _domain(rng)}"
    msg["Subject"] = _fill(rng.choice(pool["subj"][kind]), rng, brand, rcpt_word)
    msg["Message-ID"] = f"<p{i}.{rng.randint(1000, 9999)}@{sender_dom}>"
    lines = [
        _fill(rng.choice(pool["greet"]), rng, brand, rcpt_word),
        _fill(rng.choice(pool[kind]), rng, brand, rcpt_word),
    ]
    if rng.random() < 0.5:
        lines.append(_fill(rng.choice(pool["account" if kind != "account" else "payment"]), rng, brand, rcpt_word))
    urg = rng.choice(pool["urg"])
    act = rng.choice(pool["act"])
    url, _ = _phish_url(rng, real)
    style = rng.random()
    sign = _fill(rng.choice(pool["sign"]), rng, brand, rcpt_word)
    if style < 0.2:  # plain text with the URL
        body = "\n\n".join([*lines, f"{act}: {url}", urg, sign])
        msg.set_content(body)
        return msg
    shown = act
    if rng.random() < 0.2 and real:
        shown = f"https://www.{real}/{rng.choice(['login', 'account', 'verify'])}"
    hidden = ""
    if rng.random() < 0.2:
        hidden = f'<div style="display:none">{" ".join(rng.choice(FILLER) for _ in range(rng.randint(20, 80)))}</div>'
    if rng.random() < 0.1:
        hidden += f'<span style="font-size:1px;color:#ffffff">{" ".join(rng.choice(FILLER) for _ in range(15))}</span>'
    extra = ""
    if rng.random() < 0.06:
        extra += f'<form action="{url}" method="post"><input name="email"><input type="password" name="pw"><button>{act}</button></form>'
    if rng.random() < 0.04:
        extra += f'<base href="https://{_domain(rng)}/">'
    if rng.random() < 0.06:  # a script link instead of a web address
        url = rng.choice(
            [f"javascript:window.location='{url}'", "data:text/html;base64,PGh0bWw+PGZvcm0+PC9mb3JtPjwvaHRtbD4="]
        )
    if style < 0.32:  # image only
        html = f'<html><body>{hidden}<a href="{url}"><img src="https://{_domain(rng)}/img/{i}.png" alt="{brand}"></a></body></html>'
    else:
        paras = "".join(f"<p>{line}</p>" for line in lines)
        html = (
            f'<html><body>{hidden}<table><tr><td><h2>{brand}</h2>{paras}<p><a href="{url}" style="background:#0070ba;color:#fff;padding:10px">{shown}</a></p>'
            f"<p>{urg}</p><p>{sign}</p>{extra}</td></tr></table></body></html>"
        )
    if style > 0.88:  # the lure is an attachment, not a link
        text = "\n\n".join(
            [
                *lines,
                rng.choice(
                    [
                        "Please see the attached document.",
                        "Siehe Anhang.",
                        "Segue em anexo.",
                        "Voir pièce jointe.",
                        "Ver adjunto.",
                    ]
                ),
                sign,
            ]
        )
        msg.set_content(text)
        if rng.random() < 0.6:
            page = f'<html><body><form action="{url}"><input name="email" value="{rcpt}"><input type="password" name="p"></form></body></html>'
            msg.add_attachment(
                page.encode(),
                maintype="text",
                subtype="html",
                filename=rng.choice(["Invoice.html", "Rechnung.htm", "fatura.html", "document.shtml", "VM_audio.svg"]),
            )
        else:
            pdf = (
                b"%PDF-1.4\n1 0 obj<</Type/Catalog/AcroForm 2 0 R>>endobj\n2 0 obj<</Fields[]>>endobj\n3 0 obj<</S/URI/URI("
                + url.encode()
                + b")>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
            )
            msg.add_attachment(
                pdf,
                maintype="application",
                subtype="pdf",
                filename=rng.choice(["invoice.pdf", "Rechnung.pdf", "boleto.pdf"]),
            )
        return msg
    msg.set_content("\n\n".join([*lines, act, urg, sign]))
    msg.add_alternative(html, subtype="html")
    return msg


# --- legitimate ---------------------------------------------------------------------------------
ESP_LINKS = [
    "https://{org}.us{n}.list-manage.com/track/click?u={tok}&id={tok2}",
    "https://click.{domain}/?qs={tok}{tok2}",
    "https://links.e.{domain}/els/v2/{tok}{tok2}",
    "https://email.{domain}/c/{tok}{tok2}",
    "https://u{n}.ct.sendgrid.net/ls/click?upn={tok}{tok2}",
    "https://t.{domain}/r/?id={tok}",
    "https://{n}.hubspotlinks.com/Ctc/{tok}/{tok2}",
    "https://r.{domain}/mk/cl/f/{tok}{tok2}",
    "https://trk.{espdom}/c/{tok}{tok2}",
    "https://go.{domain}/{tok}",
    "https://news.{domain}/ct/{tok}{tok2}",
    "https://{domain}/newsletter/{tok}",
    "https://www.{domain}/events?utm_source=newsletter&utm_medium=email",
    "https://{espdom}/ls/click?upn={tok}{tok2}",
]
ESP_DOMS = [
    "mailersend.net",
    "emailtrack.org.uk",
    "eomail4.com",
    "mcusercontent.com",
    "mailtrack.eu",
    "cmpgnr.net",
    "esp-links.com",
    "tr.campaignio.com",
]
ORGS = [
    ("The Reading Agency", "readingagency.org.uk"),
    ("National Trust", "nationaltrust.org.uk"),
    ("BBC Bitesize", "bbc.co.uk"),
    ("Oxfam", "oxfam.org.uk"),
    ("Twinkl", "twinkl.co.uk"),
    ("TES", "tes.com"),
    ("Science Museum", "sciencemuseum.org.uk"),
    ("Goethe-Institut", "goethe.de"),
    ("Fundação Bradesco", "fb.org.br"),
    ("Le Monde", "lemonde.fr"),
    ("El País", "elpais.com"),
    ("Waterstones", "waterstones.com"),
    ("Decathlon", "decathlon.de"),
    ("Natura", "natura.com.br"),
    ("Fnac", "fnac.com"),
    ("Ikea", "ikea.com"),
    ("RSPB", "rspb.org.uk"),
    ("Premier League Primary Stars", "plprimarystars.com"),
    ("Scholastic", "scholastic.co.uk"),
    ("Pearson", "pearson.com"),
]
NEWS_LINES = {
    "en": [
        "This month we have new reading lists for every age group.",
        "Book now for our spring half-term events.",
        "Thank you for supporting our work this year.",
        "Members get 20% off in our shop until Sunday.",
        "Read our latest blog post about outdoor learning.",
        "Congratulations to the winners of our writing competition!",
        "Don't miss our free webinar on Thursday.",
        "Your points balance is {n}. Redeem them on your next visit.",
    ],
    "de": [
        "Diesen Monat gibt es neue Leselisten für jede Altersgruppe.",
        "Jetzt für unsere Veranstaltungen im Frühling anmelden.",
        "Vielen Dank für Ihre Unterstützung.",
        "Mitglieder erhalten bis Sonntag 20 % Rabatt.",
        "Lesen Sie unseren neuesten Blogbeitrag.",
    ],
    "pt": [
        "Este mês temos novas listas de leitura para todas as idades.",
        "Inscreva-se nos nossos eventos de primavera.",
        "Obrigado pelo seu apoio este ano.",
        "Associados têm 20% de desconto até domingo.",
        "Leia o nosso novo artigo no blog.",
    ],
    "fr": [
        "Ce mois-ci, de nouvelles listes de lecture pour tous les âges.",
        "Réservez dès maintenant nos ateliers de printemps.",
        "Merci pour votre soutien cette année.",
    ],
    "es": [
        "Este mes tenemos nuevas listas de lectura para todas las edades.",
        "Reserva ya nuestras actividades de primavera.",
        "Gracias por tu apoyo este año.",
    ],
}
TRANSACTIONAL = [
    (
        "Amazon.co.uk",
        "amazon.co.uk",
        "Your order has been dispatched",
        "Your order {n} has been dispatched and will arrive on Thursday. Track your package in Your Orders.",
        "https://www.amazon.co.uk/gp/your-account/order-details?orderID={n}",
        "Track package",
    ),
    (
        "PayPal",
        "paypal.co.uk",
        "Receipt for your payment to Scholastic",
        "You sent a payment of £{n2} to Scholastic Book Clubs. It may take a few moments for this transaction to appear in your account.",
        "https://www.paypal.com/myaccount/transactions",
        "View transaction",
    ),
    (
        "DHL Paket",
        "dhl.de",
        "Ihre Sendung kommt heute",
        "Ihre Sendung {n} wird heute zwischen 10 und 14 Uhr zugestellt. Verfolgen Sie Ihre Sendung online.",
        "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode={n}",
        "Sendung verfolgen",
    ),
    (
        "Microsoft account team",
        "accountprotection.microsoft.com",
        "Microsoft account security code",
        "Please use the following security code for the Microsoft account s***@oakfield.example. Security code: {n}. If you don't recognise the account, you can click here to remove your email address.",
        "https://account.live.com/dont-recognise",
        "click here",
    ),
    (
        "Correios",
        "correios.com.br",
        "Objeto entregue",
        "Seu objeto {n} foi entregue ao destinatário. Obrigado por utilizar os Correios.",
        "https://rastreamento.correios.com.br/app/index.php?objeto={n}",
        "Ver rastreamento",
    ),
    (
        "Sparkasse",
        "sparkasse.de",
        "Neue Nachricht im Online-Banking",
        "Sie haben eine neue Nachricht in Ihrem elektronischen Postfach. Bitte melden Sie sich wie gewohnt im Online-Banking an.",
        "https://www.sparkasse.de",
        "www.sparkasse.de",
    ),
    (
        "Netflix",
        "netflix.com",
        "Your monthly payment",
        "Thanks for being a member. Your payment of £{n2} was successful. Manage your membership in your account settings.",
        "https://www.netflix.com/YourAccount",
        "Account",
    ),
    (
        "Zoom",
        "zoom.us",
        "Your meeting has been scheduled",
        "Topic: Year 6 transition meeting. Time: Tuesday 3pm. Join Zoom Meeting.",
        "https://us02web.zoom.us/j/{n}",
        "Join meeting",
    ),
    (
        "Microsoft Teams",
        "microsoft.com",
        "You have been added to a team",
        "Sam Patel added you to the team Science Department. Open Microsoft Teams to get started.",
        "https://teams.microsoft.com/l/team/{n}",
        "Open Microsoft Teams",
    ),
    (
        "SharePoint Online",
        "sharepoint.com",
        "Ruth Ellis shared 'Trip risk assessment' with you",
        "Ruth Ellis shared a file with you. Here's the document Ruth shared with you.",
        "https://birchwoodtrust.sharepoint.com/:w:/s/Staff/{n}",
        "Open",
    ),
    (
        "Google Classroom",
        "classroom.google.com",
        "New assignment: Fractions homework",
        "Mrs Ward posted a new assignment in 5W Maths. Due Friday.",
        "https://classroom.google.com/c/{n}",
        "Open",
    ),
    (
        "DocuSign",
        "docusign.net",
        "Please DocuSign: Supply agreement 2026",
        "Kent County Council sent you a document to review and sign. Please review the document.",
        "https://www.docusign.net/Signing/EmailStart.aspx?a={n}",
        "REVIEW DOCUMENT",
    ),
    (
        "ParentPay",
        "parentpay.com",
        "Payment confirmation",
        "Thank you. Your payment of £{n2} for school meals has been received.",
        "https://app.parentpay.com/",
        "Log in to ParentPay",
    ),
    (
        "Itaú",
        "itau.com.br",
        "Comprovante de pagamento",
        "O pagamento de R$ {n2} foi realizado com sucesso. Consulte seus comprovantes no app.",
        "https://www.itau.com.br",
        "www.itau.com.br",
    ),
    (
        "La Poste",
        "laposte.fr",
        "Votre colis a été livré",
        "Votre colis {n} a été livré. Merci de votre confiance.",
        "https://www.laposte.fr/outils/suivre-vos-envois?code={n}",
        "Suivre",
    ),
    (
        "Correos",
        "correos.es",
        "Tu envío ha sido entregado",
        "Tu envío {n} ha sido entregado.",
        "https://www.correos.es/es/es/herramientas/localizador/envios/detalle?tracking-number={n}",
        "Ver envío",
    ),
    (
        "Apple",
        "apple.com",
        "Your receipt from Apple",
        "Order ID {n}. Total £{n2}. If you did not make this purchase, visit Report a Problem.",
        "https://reportaproblem.apple.com",
        "Report a Problem",
    ),
    (
        "Google",
        "accounts.google.com",
        "Security alert",
        "A new sign-in on Windows. We noticed a new sign-in to your Google Account. If this was you, you don't need to do anything. If not, we'll help you secure your account.",
        "https://myaccount.google.com/notifications",
        "Check activity",
    ),
    (
        "Microsoft account team",
        "accountprotection.microsoft.com",
        "Microsoft account unusual sign-in activity",
        "We detected something unusual about a recent sign-in to the Microsoft account. To help keep you safe, we required an extra security challenge. Review your recent activity.",
        "https://account.live.com/Activity",
        "Review recent activity",
    ),
    (
        "PayPal",
        "paypal.co.uk",
        "Your card was declined",
        "We couldn't process your payment because your card was declined. Please update your payment method in your PayPal account.",
        "https://www.paypal.com/myaccount/wallet",
        "Update card",
    ),
    (
        "Amazon.co.uk",
        "amazon.co.uk",
        "Action required: payment declined",
        "Your payment for order {n} was declined. Please update your payment information within 3 days or your order will be cancelled.",
        "https://www.amazon.co.uk/cpe/yourpayments/wallet",
        "Update payment",
    ),
    (
        "Sparkasse",
        "sparkasse.de",
        "Sicherheitshinweis: neue Anmeldung",
        "Es gab eine neue Anmeldung in Ihrem Online-Banking von einem neuen Gerät. Wenn Sie das nicht waren, sperren Sie Ihren Zugang sofort.",
        "https://www.sparkasse.de/service/sicherheit.html",
        "Mehr zur Sicherheit",
    ),
    (
        "Nubank",
        "nubank.com.br",
        "Compra aprovada",
        "Compra de R$ {n2} aprovada no seu cartão. Se não reconhece, bloqueie o cartão pelo app imediatamente.",
        "https://nubank.com.br/ajuda",
        "Ajuda",
    ),
    (
        "Dropbox",
        "dropbox.com",
        "Your Dropbox is full",
        "Your Dropbox is full and has stopped syncing. Upgrade or free up space to keep your files backed up.",
        "https://www.dropbox.com/plans",
        "Upgrade now",
    ),
    (
        "Royal Mail",
        "royalmail.com",
        "Your parcel is on its way",
        "Your parcel {n} will be delivered today. Track it online.",
        "https://www.royalmail.com/track-your-item#/tracking-results/{n}",
        "Track your item",
    ),
    (
        "DPD",
        "dpd.de",
        "Ihr Paket kommt heute",
        "Ihr Paket {n} wird heute zugestellt. Sie können die Zustellung jetzt umleiten.",
        "https://my.dpd.de/redirect.aspx?parcelno={n}",
        "Zustellung ändern",
    ),
    (
        "Apple",
        "apple.com",
        "Your Apple ID was used to sign in",
        "Your Apple ID was used to sign in to iCloud via a web browser. If you have not recently signed in, change your password at Apple ID.",
        "https://appleid.apple.com",
        "appleid.apple.com",
    ),
    (
        "HMRC",
        "gov.uk",
        "Your tax return has been received",
        "We have received your Self Assessment tax return. You do not need to do anything else. Sign in to your HMRC online account to view it.",
        "https://www.gov.uk/log-in-register-hmrc-online-services",
        "www.gov.uk",
    ),
]
SCHOOL = {
    "en": [
        ("Absence - Year 4", "Hi Mrs Patel, Leo has a temperature and won't be in today. Thanks, Karen"),
        (
            "Re: trip money",
            "Hi, I've paid the £12 for the museum trip on ParentPay. Is there anything else we need? Thanks, Dave",
        ),
        (
            "Invoice 4471 - stationery order",
            "Dear Sir/Madam, please find attached our invoice 4471 for the stationery order delivered on 3 March. Payment terms 30 days. Kind regards, Office Supplies Ltd",
        ),
        (
            "Safeguarding training dates",
            "Dear colleagues, the next safeguarding refresher is on 12 May. Please book through the training portal.",
        ),
        (
            "Congratulations from the exam board",
            "Dear centre, congratulations: your moderation sample was accepted. No further action is needed.",
        ),
        (
            "Your password will expire soon - IT",
            "Hello, this is a reminder from the trust IT team that your network password will expire in 7 days. Change it from any school PC with Ctrl+Alt+Del. We will never ask for your password by e-mail.",
        ),
    ],
    "de": [
        (
            "Krankmeldung Lena",
            "Guten Morgen Frau Becker, Lena ist krank und kommt heute nicht. Viele Grüße, Familie Wolf",
        ),
        (
            "Rechnung 2026-113",
            "Sehr geehrte Damen und Herren, anbei erhalten Sie unsere Rechnung für die Klassenfahrt. Zahlbar innerhalb von 14 Tagen. Mit freundlichen Grüßen, Jugendherberge Bonn",
        ),
    ],
    "pt": [
        ("Falta do Pedro", "Bom dia professora, o Pedro está doente e não vai hoje. Obrigada, Marta"),
        (
            "Fatura 889 - material escolar",
            "Prezados, segue em anexo a fatura 889 referente ao material escolar. Vencimento em 30 dias. Atenciosamente, Papelaria Central",
        ),
    ],
    "fr": [("Absence de Léa", "Bonjour Madame, Léa est malade aujourd'hui. Cordialement, M. Dubois")],
    "es": [("Ausencia de Pablo", "Buenos días, Pablo está enfermo y no irá hoy al colegio. Saludos, Lucía")],
}


def _tok(rng: random.Random, n: int = 22) -> str:
    return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") for _ in range(n))


def legitimate(rng: random.Random, i: int) -> EmailMessage:
    msg = EmailMessage()
    msg["To"] = rng.choice(["s.patel@oakfield.example", "office@birchwood.example", "head@birchwood.example"])
    msg["Message-ID"] = f"<h{i}.{rng.randint(1000, 9999)}@legit.test>"
    r = rng.random()
    if r < 0.45:  # newsletter through click trackers
        org, domain = rng.choice(ORGS)
        lang = (
            "de"
            if domain.endswith(".de")
            else "pt"
            if domain.endswith(".br")
            else "fr"
            if domain.endswith(".fr")
            else "es"
            if domain in ("elpais.com",)
            else "en"
        )
        msg["From"] = (
            f"{org} <{rng.choice(['news', 'newsletter', 'hello', 'info'])}@{rng.choice(['', 'mail.', 'e.', 'email.'])}{domain}>"
        )
        msg["Subject"] = rng.choice(
            [
                "Your monthly newsletter",
                "What's on this spring",
                "News and events",
                "Neuigkeiten",
                "Novidades do mês",
                "Nouveautés",
                "Novedades",
            ]
        )
        msg["List-Unsubscribe"] = f"<https://{domain}/unsubscribe?u={_tok(rng, 10)}>"
        if rng.random() < 0.5:
            msg["List-Id"] = f"{org} news <news.{domain}>"
        links = []
        for _ in range(rng.randint(3, 14)):
            tpl = rng.choice(ESP_LINKS)
            href = tpl.format(
                org=domain.split(".")[0],
                n=rng.randint(1, 20),
                tok=_tok(rng),
                tok2=_tok(rng, 10),
                domain=domain,
                espdom=rng.choice(ESP_DOMS),
            )
            text = rng.choice(
                [
                    "Read more",
                    "Book now",
                    f"www.{domain}",
                    f"{domain}",
                    "Shop now",
                    "Find out more",
                    "Mehr lesen",
                    "Saiba mais",
                    "En savoir plus",
                    "Leer más",
                    f"https://www.{domain}/events",
                    "View in browser",
                    "Unsubscribe",
                    "Facebook",
                    "Instagram",
                ]
            )
            links.append(
                f'<p>{rng.choice(NEWS_LINES[lang]).format(n=rng.randint(100, 900))} <a href="{href}">{text}</a></p>'
            )
        img = f'<img src="https://{domain}/logo.png" alt="{org}">' if rng.random() < 0.7 else ""
        html = f'<html><body>{img}{"".join(links)}<p style="font-size:11px;color:#888">You are receiving this because you signed up. Unsubscribe.</p></body></html>'
        msg.set_content(f"{org}\n\nView this newsletter in your browser.")
        msg.add_alternative(html, subtype="html")
    elif r < 0.72:  # transactional from the brand's own domain
        name, domain, subject, text, href, shown = rng.choice(TRANSACTIONAL)
        n, n2 = rng.randint(100000, 999999), rng.randint(3, 300)
        msg["From"] = f"{name} <{rng.choice(['no-reply', 'noreply', 'service', 'account-security-noreply'])}@{domain}>"
        msg["Subject"] = subject
        body = text.format(n=n, n2=n2)
        href = href.format(n=n)
        if rng.random() < 0.5:
            msg.set_content(f"{body}\n\n{shown}: {href}\n")
        else:
            msg.set_content(body)
            msg.add_alternative(
                f'<html><body><p>{body}</p><p><a href="{href}">{shown}</a></p><p style="font-size:10px">Privacy | Help</p></body></html>',
                subtype="html",
            )
    else:  # people: parents, suppliers, colleagues, IT
        lang = rng.choice(["en", "en", "en", "de", "pt", "fr", "es"])
        subject, text = rng.choice(SCHOOL[lang])
        dom = rng.choice(
            [
                *WEBMAIL,
                "officesupplies.co.uk",
                "jugendherberge.de",
                "kent.gov.uk",
                "aqa.org.uk",
                "papelaria-central.com.br",
            ]
        )
        msg["From"] = (
            f"{rng.choice(NAMES)} <{rng.choice(['k.wood', 'dave1971', 'marta.s', 'office', 'accounts'])}@{dom}>"
        )
        msg["Subject"] = subject
        if rng.random() < 0.3:
            text += f"\n\nMore information: https://www.{rng.choice(['gov.uk', 'kent.gov.uk', 'bbc.co.uk', 'youtube.com', dom])}/{_tok(rng, 6)}"
        msg.set_content(text)
        if "nvoice" in subject or "Rechnung" in subject or "Fatura" in subject:
            msg.add_attachment(
                b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
                maintype="application",
                subtype="pdf",
                filename="invoice.pdf",
            )
    return msg
