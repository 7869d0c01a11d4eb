"""What makes a chain letter a chain, measured without naming its wording.

The cue list (``rules/chain_letter.toml``) names phrases; fresh chain letters use phrases nobody
wrote down (issue 21: 27% of real pyramid letters caught).  What every chain shares is its
*mechanics*: an instruction to pass it on, to how many or to whom, a list to add yourself to, a
promise or a threat tied to obeying, a deadline, a testimonial, and a forwarding history.  Each
is measured here as a named number in ``[0, 1]`` (or a small count), in English, German,
Portuguese, French and Spanish where the words are cheap, and handed to the learned model
(:mod:`aupmilter.featmodel`) that weighs them.  Named features are what the finding's evidence
lists, so a reviewer still sees *why*.
"""

from __future__ import annotations

import regex

from aupmilter.message import MessageView
from aupmilter.triggers import TriggeredPatterns

_F = regex.IGNORECASE

# Verbs of passing a message on, and what is passed ("this", "it", "the letter").
_PASS_VERB = (
    r"(?:send|forward|fwd|pass|share|copy|(?:re-?)?post|re-?send|mail|e-?mail|text|circulate|spread|hand|invite|recruit"
    r"|copy\s+and\s+paste|cut\s+and\s+paste"
    r"|envi[aeo]\w*|env[ií]\w*|encaminh\w*|repass\w*|compartilh\w*|mand[aeo]\w*|reenv[ií]\w*|comp[aá]rt[ea]\w*|difund\w*|convid\w*|invit[ae]\w*|p[aá]s[ae]\w*|passe\s+adiante"
    r"|weiterleit\w*|weiter(?:geben|sagen|schicken)|weitergeleitet|leite\w*|schick\w*|geschickt|verschick\w*|send(?:e|en|est|et)|gesendet|teil(?:e|t|en)?|verbreit\w*|einlad\w*|lade\w*"
    r"|envoy\w*|envoie\w*|transf[eé]r\w*|partag\w*|fai(?:s|tes)\s+suivre|diffus\w*|invitez)"
)
_THIS = (
    r"(?:this|it|the\s+(?:letter|message|e-?mail|chain|prayer|warning|list)|these|esta|este|isto|essa|esse"
    r"|a\s+mensagem|la\s+mensaje|el\s+mensaje|esto|diese|dies|das|den\s+brief|die\s+nachricht|ce\s+message"
    r"|cette\s+lettre|ceci|cela|la\s+lettre)"
)
_PEOPLE = (
    r"(?:people|persons|friends|others|contacts|women|men|girls|boys|colleagues|parents|mums|ladies|names|souls"
    r"|pessoas|amig[oa]s|contatos|contactos|personas|mujeres|leute|menschen|freunde|freundinnen|kontakte|personen"
    r"|frauen|personnes|amis|amies|contacts)"
)
_NUMBER = (
    r"(?:\d{1,3}|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|fifty|hundred"
    r"|dois|duas|dos|zwei|deux|tr[eê]s|quatro|cinco|seis|sete|oito|nove|dez|doze|vinte|cuatro|siete|ocho|nueve|diez|drei|vier|f[uü]nf"
    r"|sechs|sieben|acht|neun|zehn|zw[oö]lf|zwanzig|trois|quatre|sept|huit|neuf|dix|douze|vingt)"
)

#: The patterns that say "pass this on" (see GATE below, which adds nothing else).
_GATE_NAMES = frozenset(
    {
        "pass_to_count",
        "pass_to_everyone",
        "pass_instruction",
        "pass_on_phrase",
        "list_move",
        "report_list",
        "charity_per_forward",
        "comes_back",
    }
)

PATTERNS: dict[str, regex.Pattern[str]] = {
    # "send this to 10 people", "envie para 7 amigos", "an 10 Freunde weiterleiten"
    "pass_to_count": regex.compile(
        rf"\b{_PASS_VERB}\b[^.!?\n]{{0,70}}?\b{_NUMBER}\s+(?:\w+\s+){{0,2}}?{_PEOPLE}\b"
        rf"|\b(?:make|send|mail|post|envoyez|faites|fa[cç]a|haz|haga|mach|schick)\w*\s+(?:\w+\s+)?{_NUMBER}\s+(?:copies|c[oó]pias|kopien)\b"
        rf"|\b(?:has|have|must|needs?)\s+to\s+(?:go|be\s+sent|be\s+passed|be\s+forwarded)\s+(?:on\s+)?to\s+{_NUMBER}\s+(?:\w+\s+)?{_PEOPLE}\b"
        rf"|\b(?:to|a|an|à|para|al?)\s+{_NUMBER}\s+(?:\w+\s+){{0,2}}?{_PEOPLE}\b[^.!?\n]{{0,50}}\b{_PASS_VERB}\b",
        _F,
    ),
    # "forward it to everyone you know", "a todos os seus contatos", "an alle deine Kontakte"
    "pass_to_everyone": regex.compile(
        r"\b(?:everyone|everybody|all\s+(?:of\s+)?(?:your|the\s+people|my)|every\s+(?:friend|woman|person|one)"
        r"|todos\s+(?:os\s+)?(?:seus|tus|sus|os)|todas\s+(?:as\s+)?(?:suas|tus)|a\s+todos|alle(?:n)?\s+(?:deine[nm]?|ihre[nm]?|die\s+du)"
        r"|tous\s+(?:vos|tes|ceux)|toutes\s+(?:vos|tes)|as\s+many\s+(?:people|friends)|o\s+m[aá]ximo\s+de|tantas\s+personas|tantos\s+amigos"
        r"|so\s+viele(?:n)?|le\s+plus\s+de|every(?:one|body)\s+in\s+your|alle,?\s+die\s+du|todos\s+los\s+que|tous\s+ceux\s+que"
        r"|every\s+\w+\s+(?=you\s+know)|toda\s+(?:tu|a\s+sua|su)|todos\s+(?:tus|sus)|toute\s+(?:ta|votre)|tous\s+(?:tes|vos)|deine\s+ganze|your\s+whole|an\s+alle)\b[^.!?\n]{0,40}"
        r"\b(?:you\s+know|contacts?|address\s+book|friends|contatos|contactos|kontakte[n]?|freunde[n]?|amis|know|kennst|conhece|conoces|connaissez"
        r"|people|pessoas|personas|menschen|personnes|grupos|groups|family|fam[ií]lia|familie|famille|proches)\b"
        r"|\bas\s+many\s+(?:people|friends|contacts|addresses)\s+as\s+(?:you\s+can|possible)\b",
        _F,
    ),
    "pass_instruction": regex.compile(
        rf"\b{_PASS_VERB}\s+(?:(?!of\b|de\b|von\b)\w+\s+)?{_THIS}\b(?:\s+(?:on|along|round|around))?"
        rf"|\b(?:hand|pass|send)\s+(?:it|this)\s+on\b|\b{_PASS_VERB}(?:-(?:les?|la|lo|los|las))\b"
        rf"|\b(?:invite|recruit|lade|convide|invita|invitez)\s+(?:\w+\s+)?{_NUMBER}\s+(?:\w+\s+)?{_PEOPLE}",
        _F,
    ),
    "pass_on_phrase": regex.compile(
        r"\b(?:pass\s+(?:it|this)\s+on|keep\s+(?:it|this|the\s+chain)\s+(?:going|alive|moving)|don'?t\s+(?:break|stop)"
        r"|do\s+not\s+(?:break|stop|delete|ignore)|n[aã]o\s+(?:quebre|pare|apague|ignore|interrompa)|no\s+(?:rompas|rompa|borres|ignores)"
        r"|nicht\s+(?:unterbrechen|l[oö]schen|ignorieren)|ne\s+(?:brisez|cassez|supprimez|rompez)\s+pas|unterbrich"
        r"|passe\s+adiante|pass\s+it\s+forward|gib\s+(?:es|ihn|sie)\s+weiter|p[aá]salo|fais-le\s+tourner|faites-le\s+tourner|n[aã]o\s+deixe\s+parad[oa]"
        r"|(?:tell|warn)\s+(?:every(?:one|body)|all\s+your)|let\s+every(?:one|body)\s+know|avise\s+(?:a\s+)?todos|avisa\s+a\s+todos|sag(?:t)?\s+es\s+allen|warnt\s+alle|pr[eé]venez\s+tout\s+le\s+monde|dites-le\s+[aà]\s+tous)\b",
        _F,
    ),
    "chain_word": regex.compile(
        r"\b(?:chain|corrente|cadena|kette(?:nbrief)?|cha[iî]ne|kettenbrief|this\s+letter|esta\s+carta|ce\s+courrier)\b",
        _F,
    ),
    # deadlines
    "deadline": regex.compile(
        rf"\b(?:within|in\s+the\s+next|before|em\s+at[eé]|dentro\s+de|en\s+(?:las\s+)?pr[oó]ximas|innerhalb\s+(?:von|der\s+n[aä]chsten)"
        rf"|dans\s+les|avant|in\s+den\s+n[aä]chsten|nas\s+pr[oó]ximas|binnen)\s+(?:the\s+next\s+)?(?:{_NUMBER}|an?|one)\s*"
        rf"(?:minutes?|hours?|hrs?|days?|minutos?|horas?|d[ií]as?|stunden?|tagen?|minuten?|heures?|jours?)\b"
        rf"|\b(?:before|antes\s+d[ea]|vor|avant)\s+(?:midnight|meia-noite|medianoche|mitternacht|minuit|sunset|the\s+sun\s+goes\s+down|tomorrow)\b",
        _F,
    ),
    # promised reward tied to obeying
    "promise_luck": regex.compile(
        r"\b(?:good\s+luck|luck|fortune|lucky|miracle|wish(?:es)?\s+(?:will\s+)?come\s+true|blessings?|dreams?\s+come\s+true"
        r"|money\s+will\s+come|will\s+come\s+(?:to\s+you|your\s+way)|something\s+(?:good|amazing|wonderful|kind|special)\s+will\s+happen"
        r"|sorte|milagre|desejo|b[eê]n[cç][aã]os?|suerte|milagro|deseo|bendici[oó]n|gl[uü]ck|wunder|wunsch|segen|chance|bonheur"
        r"|miracle|v[oœ]u|b[eé]n[eé]diction)\b",
        _F,
    ),
    "threat": regex.compile(
        r"\b(?:bad\s+luck|misfortune|curse[ds]?|die[ds]?|death|accident|tragedy|lose|lost|broke\s+the\s+chain|will\s+regret|seven\s+years|7\s+years"
        r"|azar|m[aá]\s+sorte|morr(?:eu|er[aá]|i[oó])|acidente|maldi[cç][aã]o|mala\s+suerte|desgracia|muri[oó]|pech|ungl[uü]ck|fluch|starb|gestorben"
        r"|ignoriert|gel[oö]scht|verlor(?:en)?|verlierst|krank|durchgefallen|gefallen|entlassen|ignorou|perdeu|ficou\s+sem|problemas|despid\w+|perdi[oó]|ennuis|perdu)\b"
        r"|\b(?:malheur|malchance|mal[eé]diction|mort|mourir|regrett?er[az]?)\b",
        _F,
    ),
    "conditional_consequence": regex.compile(
        r"\b(?:if\s+you\s+(?:don'?t|do\s+not|fail|ignore|break|delete|refuse|forward|send|pass|share)"
        r"|se\s+(?:voc[eê]\s+)?(?:n[aã]o\s+)?(?:enviar|encaminhar|repassar|ignorar|quebrar|apagar)"
        r"|si\s+(?:no\s+)?(?:lo\s+|la\s+)?(?:env[ií]as|reenv[ií]as|ignoras|rompes|borras|compartes)"
        r"|wenn\s+du\s+(?:ihn|sie|es|diese[n]?\s+\w+)?\s*(?:nicht\s+)?(?:weiterleitest|schickst|ignorierst|l[oö]schst|weitergibst)|sonst\s+(?:verlierst|wirst|hast)"
        r"|si\s+vous\s+(?:ne\s+)?(?:l[ae]?\s+|l['’])?(?:envoyez|transf[eé]rez|ignorez|brisez|supprimez))\b",
        _F,
    ),
    "testimonial": regex.compile(
        r"\b(?:(?:days?|weeks?|hours?|months?)\s+later|the\s+(?:next|following)\s+day|a\s+week\s+later|shortly\s+after"
        r"|dias\s+depois|d[ií]as\s+despu[eé]s|tage\s+sp[aä]ter|jours\s+plus\s+tard|semanas?\s+depois|una\s+semana\s+despu[eé]s"
        r"|(?:won|received|got|inherited|ganhou|recebeu|gan[oó]|recibi[oó]|gewann|bekam|erhielt|a\s+gagn[eé]|a\s+re[cç]u)\s+"
        r"(?:the\s+lottery|a\s+(?:promotion|job|cheque|check)|\$|£|€|r\$|\d))",
        _F,
    ),
    "list_move": regex.compile(
        r"\b(?:remove|delete|cross\s+(?:off|out)|take\s+off|retire|tire|apague|elimina|quita|streiche|entferne|supprime[rz]?|rayez)\b"
        r"[^.!?\n]{0,40}\b(?:name|nome|nombre|namen|nom|address|endere[cç]o|top|first|primeir[oa]|primer[oa]?|ersten?|premier)\b"
        r"|\b(?:move|shift|bump|slide|mova|desloque|mueve|mueva|verschieb|r[uü]ck|d[eé]cale[rz]?|remonte[rz]?)\w*\s+"
        r"(?:\w+\s+){0,3}(?:names?|nomes?|nombres?|namen|noms?|down|up|para\s+(?:baixo|cima)|hacia\s+(?:abajo|arriba)|nach\s+(?:unten|oben)|vers\s+le\s+(?:bas|haut))\b"
        r"|\b(?:add|put|write|place|coloque|adicione|escreva|ponga|a[nñ]ade|agrega|setze|f[uü]ge|schreib|ajoute[rz]?|mettez|inscrivez)\s+"
        r"(?:\w+\s+){0,2}(?:your|seu|su|tu|deinen|ihren|votre|ton)\s+(?:own\s+)?(?:name|nome|nombre|namen|nom)\b",
        _F,
    ),
    "report_list": regex.compile(r"\b(?:report|relat[oó]rio|informe|bericht|rapport)\s*#?\s*\d\b", _F),
    "money_amount": regex.compile(
        r"(?:[$£€]|r\$|us\$)\s?\d[\d.,]*|\b\d[\d.,]*\s?(?:dollars?|pounds?|euros?|reais|d[oó]lares|cents?|p\b|pence)",
        _F,
    ),
    "money_earn": regex.compile(
        r"\b(?:earn|make|receive|get|rake\s+in|ganhar|receber[aá]?|ganar|recibir[aá]s?|verdienen|erhalten|bekommen|gagner|recevoir|recevrez)\b"
        r"[^.!?\n]{0,40}(?:[$£€]|r\$|\b\d{2,}[\d.,]*\s?(?:dollars?|pounds?|euros?|reais|in\s+cash))",
        _F,
    ),
    "legal_claim": regex.compile(
        r"\b(?:(?:100%|perfectly|completely|totally)\s+legal|not\s+a\s+(?:scam|pyramid)|this\s+is\s+(?:not\s+a\s+joke|true|real|legal)"
        r"|isto\s+[eé]\s+(?:legal|verdade)|n[aã]o\s+[eé]\s+(?:brincadeira|golpe|piada)|es\s+legal|no\s+es\s+(?:broma|estafa)|es\s+verdad"
        r"|kein\s+(?:scherz|witz|betrug)|ist\s+(?:legal|wahr)|ce\s+n'est\s+pas\s+une\s+(?:blague|arnaque)|c'est\s+(?:l[eé]gal|vrai))\b",
        _F,
    ),
    "religious": regex.compile(
        r"\b(?:god|jesus|lord|angels?|pray(?:er)?s?|saint|novena|amen|bless(?:ed|ing)?|holy|virgin|mary"
        r"|deus|senhor|anjos?|ora[cç][aã]o|santo|santa|am[eé]m|aben[cç]oad[oa]|dios|se[ñn]or|[aá]ngel(?:es)?|oraci[oó]n"
        r"|gott|engel|gebet|heilige?|dieu|ange|pri[eè]re|sainte?|b[eé]ni)\b",
        _F,
    ),
    "warning": regex.compile(
        r"\b(?:warning|warn|beware|careful|alert|danger|virus|hackers?|scam|police|urgent|please\s+read"
        r"|aviso|aten[cç][aã]o|cuidado|alerta|perigo|pol[ií]cia|urgente|advertencia|peligro|achtung|warnung|vorsicht|gefahr|polizei|dringend"
        r"|attention|danger|avertissement|police|urgent)\b",
        _F,
    ),
    "authority": regex.compile(
        r"\b(?:it\s+was\s+on\s+the\s+(?:news|radio|tv)|confirmed\s+by|(?:microsoft|aol|google|facebook|whatsapp|the\s+police|the\s+bbc|cnn|snopes|apple|amazon)"
        r"\s+(?:has|have|had|is|are)\s+(?:announced|confirmed|warned|paying|giving|donating)|(?:friend|cousin|sister|brother|neighbour|neighbor|uncle|aunt)\s+who\s+works"
        r"|saiu\s+no\s+jornal|confirmado\s+pela?|sali[oó]\s+en\s+las?\s+noticias|confirmado\s+por|kam\s+in\s+den\s+nachrichten|best[aä]tigt\s+von"
        r"|confirm[eé]\s+par|pass[eé]\s+aux\s+informations)\b",
        _F,
    ),
    "charity_per_forward": regex.compile(
        r"\b(?:for\s+(?:every|each)\s+(?:person|forward|e-?mail|share|time)|each\s+time\s+(?:this|it)\s+is|per\s+(?:forward|share|e-?mail)"
        r"|por\s+cada\s+(?:pessoa|e-?mail|vez|persona|reenv[ií]o)|a\s+cada\s+(?:pessoa|e-?mail|vez|compartilhamento)|f[uü]r\s+jede[ns]?\s+(?:weiterleitung|person|e-?mail|mal)"
        r"|pour\s+chaque\s+(?:personne|e-?mail|transfert|partage))\b",
        _F,
    ),
    "petition": regex.compile(
        r"\b(?:sign|assine|assinem|firme|firma|unterschreib\w*|signez|signe)\b[^.!?\n]{0,30}\b(?:list|lista|liste|petition|peti[cç][aã]o|petici[oó]n|p[eé]tition)\b"
        r"|\b(?:add|put|write|coloque|ponga|a[nñ]ade|setze|ajoutez)\s+(?:\w+\s+){0,2}?(?:name|nome|nombre|namen|nom)\b[^.!?\n]{0,30}\b(?:list|lista|liste|end|bottom|final|fin)\b"
        r"|\b(?:when|quando|cuando|wenn|quand)\b[^.!?\n]{0,30}\b\d[\d.,]*\s*(?:mil\s+|thousand\s+|tausend\s+)?(?:names|signatures|nomes|assinaturas|nombres|firmas|namen|unterschriften|noms)\b"
        r"|\b(?:sent|presented|delivered|taken|entregue|enviada|presentada|[uü]bergeben|remise)\s+(?:\w+\s+){0,2}?(?:to|ao|a|al|an|[aà])\s+(?:the\s+)?(?:parliament|government|congress|congresso|congreso|bundestag|parlement|onu|un|united\s+nations|mp|council|defra|prime\s+minister)\b",
        _F,
    ),
    "tracking_claim": regex.compile(
        r"\b(?:track(?:ing|ed)?|count(?:ing|ed)?|monitor(?:ing|ed)?|rastrea|rastre(?:ar|ando)|contando|z[aä]hlt|verfolgt|compte|suivi)\b"
        r"[^.!?\n]{0,40}\b(?:e-?mails?|forwards?|times|vezes|veces|mal|fois|reenv|weiterleitung|envois)\b",
        _F,
    ),
    "you_are_special": regex.compile(
        r"\b(?:you\s+are\s+(?:special|loved|a\s+(?:true|real)\s+friend)|friends?\s+(?:you\s+)?(?:love|care\s+about|cherish)|special\s+friends?"
        r"|voc[eê]\s+[eé]\s+especial|amigos?\s+especiais|eres\s+especial|amigos?\s+especiales|du\s+bist\s+(?:besonders|etwas\s+besonderes)"
        r"|tu\s+es\s+(?:sp[eé]cial|unique)|amis?\s+sp[eé]ciaux)\b",
        _F,
    ),
    "comes_back": regex.compile(
        r"\b(?:comes?\s+back|send\s+(?:it|this)\s+back|including\s+me|voltar\s+para\s+voc[eê]|volte|vuelve|de\s+vuelta|zur[uü]ck(?:kommt|schicken)|revient|renvoie)\b",
        _F,
    ),
}

#: Bounded, because the features are measured on every inbound and outbound message.
MAX_CHARS = 60_000
_FWD = regex.compile(r"\b(?:fwd?|fw|wg|enc|rv|tr|i)\s*:", regex.IGNORECASE)
_HEADER = regex.compile(
    r"^\s*>?\s*(?:-{2,}\s*(?:forwarded|original|weitergeleitete|mensagem\s+encaminhada|mensaje\s+reenviado|message\s+transf[eé]r[eé])[^\n]*"
    r"|begin\s+forwarded\s+message:|(?:from|von|de|da)\s*:\s.+@.+)\s*$",
    regex.IGNORECASE | regex.MULTILINE,
)
_NUMBERED_LINE = regex.compile(r"^\s*(?:#?\d{1,2}[.):\-]|\(\d{1,2}\)|[A-Z]\))\s+\S", regex.MULTILINE)
_QUOTED_LINE = regex.compile(r"^[ \t]*>", regex.MULTILINE)
_QUOTE_MARKS = regex.compile(r"^[ \t]*(?:>[ \t]?)+", regex.MULTILINE)
_ADDRESS = regex.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_EXCLAIM = regex.compile(r"!")
_EMOJI = regex.compile(r"[\p{Extended_Pictographic}]")
_CAPS_WORD = regex.compile(r"\b[A-ZÄÖÜÉÈÀÇ]{4,}\b")
_WORDS = regex.compile(r"\w+")

# Word tables, several words a line (a word a line would make them five times as long).
# fmt: off
_PEOPLE_WORDS = (
    "people", "person", "friend", "others", "contact", "women", "men", "girls", "boys", "colleague", "parent", "mums",
    "ladies", "names", "souls", "pessoas", "amig", "contat", "contact", "personas", "mujeres", "leute", "menschen",
    "freund", "kontakt", "personen", "frauen", "personne", "amis", "amies", "copies", "cópias", "copias", "kopien",
)
_VERB_WORDS = (
    "send", "forward", "fwd", "pass", "share", "copy", "post", "mail", "text", "circulate", "spread", "hand", "invite",
    "recruit", "cut and paste", "envi", "enví", "encaminh", "repass", "compartilh", "mand", "reenv", "compart", "compárt",
    "difund", "convid", "invit", "pase", "pasa", "pása", "páse", "weiter", "leite", "schick", "teil", "verbreit",
    "einlad", "lade", "envoy", "envoie", "transf", "partag", "suivre", "diffus",
)
#: Literal words one of which every match of these (costly) patterns contains: they are searched
#: only around those words (:mod:`aupmilter.triggers`); a test checks every example has one.
TRIGGERS: dict[str, tuple[str, ...]] = {
    "pass_to_count": _PEOPLE_WORDS,
    "pass_instruction": _VERB_WORDS,
    "pass_to_everyone": (
        "everyone", "everybody", "every", "all your", "all of your", "all the people", "all my", "all of my", "todos",
        "todas", "alle", "tous", "toutes", "as many", "máximo", "maximo", "tantas", "tantos", "so viele", "le plus de",
        "toda", "deine ganze", "your whole",
    ),
    "list_move": (
        "remove", "delete", "cross", "take off", "retire", "tire", "apague", "elimina", "quita", "streiche", "entferne",
        "supprime", "rayez", "move", "shift", "bump", "slide", "mova", "desloque", "mueve", "mueva", "verschieb", "rück",
        "ruck", "décale", "decale", "remonte", "add", "put", "write", "place", "coloque", "adicione", "escreva", "ponga",
        "añade", "anade", "agrega", "setze", "füge", "fuge", "schreib", "ajoute", "mettez", "inscrivez",
    ),
}
# fmt: on
_GATE_SET = TriggeredPatterns(
    {k: PATTERNS[k] for k in PATTERNS if k in _GATE_NAMES}, {k: v for k, v in TRIGGERS.items() if k in _GATE_NAMES}
)
_REST_SET = TriggeredPatterns(
    {k: PATTERNS[k] for k in PATTERNS if k not in _GATE_NAMES},
    {k: v for k, v in TRIGGERS.items() if k not in _GATE_NAMES},
)
_COUNTED = ("money_amount", "religious", "warning", "promise_luck", "threat")

NAMES = [
    *sorted(PATTERNS),
    "forward_depth",
    "header_blocks",
    "numbered_lines",
    "quoted_share",
    "address_lines",
    "exclaim_density",
    "caps_words",
    "emoji",
    "short_text",
    "long_text",
    "pass_and_promise",
    "pass_and_threat",
    "pass_and_deadline",
    "list_and_money",
]


def message_text(message: MessageView) -> str:
    """Subject and every text part, bounded (what the features and the hashed words read)."""
    parts = [message.subject]
    size = len(message.subject)
    seen: set[str] = set()
    for part in message.text_parts:
        if size >= MAX_CHARS:
            break
        text = part.text[: MAX_CHARS - size]
        key = " ".join(text.split())[:2000]
        if key in seen:  # text/plain and text/html alternatives say the same thing
            continue
        seen.add(key)
        parts.append(text)
        size += len(text)
    return "\n".join(parts)


def features(subject: str, text: str, quick: bool = False) -> dict[str, float]:
    """Named chain-mechanics features of a message's subject and full text (see module doc).

    ``quick``: when nothing asks for the text to be passed on (:data:`GATE`), return at once
    with every feature 0 (the check does not ask the model then); training reads everything."""
    body = text[:MAX_CHARS]
    quoted = len(_QUOTED_LINE.findall(body))
    body = _QUOTE_MARKS.sub("", body)  # "> send this to\n> 10 people" reads as one sentence
    flat = " ".join(body.split())
    out: dict[str, float] = dict.fromkeys(NAMES, 0.0)
    found = _GATE_SET.matches(flat)
    if quick and not found:
        return out
    found.update(_REST_SET.matches(flat))
    for name in PATTERNS:
        hits = len(found.get(name, ()))
        out[name] = min(hits, 3) / 3 if name in _COUNTED else float(hits > 0)
    words = max(1, len(_WORDS.findall(flat)))
    out["forward_depth"] = min(len(_FWD.findall(subject)), 4) / 4
    out["header_blocks"] = min(len(_HEADER.findall(body)), 4) / 4
    out["numbered_lines"] = float(len(_NUMBERED_LINE.findall(body)) >= 3)
    lines = max(1, body.count("\n") + 1)
    out["quoted_share"] = min(1.0, quoted / lines)
    longest = max((len(_ADDRESS.findall(line)) for line in body.splitlines()), default=0)
    out["address_lines"] = float(longest >= 5)
    out["exclaim_density"] = min(1.0, 20 * len(_EXCLAIM.findall(flat)) / words)
    out["caps_words"] = min(1.0, 10 * len(_CAPS_WORD.findall(flat)) / words)
    out["emoji"] = min(1.0, len(_EMOJI.findall(flat)) / 5)
    out["short_text"] = float(words < 150)
    out["long_text"] = float(words > 800)
    passing = max(out["pass_to_count"], out["pass_to_everyone"], out["pass_instruction"])
    out["pass_and_promise"] = passing * float(out["promise_luck"] > 0 or out["money_earn"] > 0)
    out["pass_and_threat"] = passing * float(out["threat"] > 0 or out["conditional_consequence"] > 0)
    out["pass_and_deadline"] = passing * out["deadline"]
    out["list_and_money"] = float(out["list_move"] > 0 or out["report_list"] > 0) * float(out["money_amount"] > 0)
    return out


def describe(name: str) -> str:
    """How a feature reads in a finding's evidence."""
    return _DESCRIPTIONS.get(name, name.replace("_", " "))


_DESCRIPTIONS = {
    "pass_to_count": "asks to pass it to a number of people",
    "pass_to_everyone": "asks to pass it to everyone you know",
    "pass_instruction": "asks to send/forward it on",
    "pass_on_phrase": "'keep it going / don't break it'",
    "chain_word": "calls itself a chain or letter",
    "deadline": "sets a deadline",
    "promise_luck": "promises luck or a wish",
    "threat": "threatens misfortune",
    "conditional_consequence": "'if you (don't) forward...' consequence",
    "testimonial": "testimonial of what happened to others",
    "list_move": "list of names to move down / add yours",
    "report_list": "numbered reports",
    "money_amount": "money amounts",
    "money_earn": "promises money",
    "legal_claim": "insists it is true/legal",
    "religious": "religious words",
    "warning": "warning words",
    "authority": "claims an authority confirmed it",
    "charity_per_forward": "money per forward",
    "tracking_claim": "claims forwards are tracked",
    "petition": "an e-mailed petition to sign and pass on",
    "you_are_special": "'you are special' friendship chain",
    "comes_back": "'see if it comes back'",
    "forward_depth": "forwarded many times (subject)",
    "header_blocks": "forwarding history in the body",
    "numbered_lines": "numbered list",
    "quoted_share": "mostly quoted text",
    "address_lines": "list of addresses",
    "exclaim_density": "many exclamation marks",
    "caps_words": "shouting capitals",
    "emoji": "emoji",
    "short_text": "short text",
    "long_text": "long text",
    "pass_and_promise": "passing it on tied to a promise",
    "pass_and_threat": "passing it on tied to a threat",
    "pass_and_deadline": "passing it on tied to a deadline",
    "list_and_money": "name list with money",
}

#: A chain asks to be passed on (or to join a list): without one of these the model is not asked.
GATE = tuple(sorted(_GATE_NAMES))

#: ...and gives a reason to obey (a promise, a threat, a cause, a list, a deadline): an instruction
#: alone ("send this to 10 people") is a cue, never a chain letter by itself.
MOTIVES = (
    "promise_luck",
    "threat",
    "conditional_consequence",
    "testimonial",
    "list_move",
    "report_list",
    "money_earn",
    "money_amount",
    "legal_claim",
    "religious",
    "warning",
    "authority",
    "charity_per_forward",
    "tracking_claim",
    "petition",
    "you_are_special",
    "comes_back",
    "deadline",
    "chain_word",
    "pass_on_phrase",
)


def eligible(named: dict[str, float]) -> bool:
    """Is this worth asking the model: something is to be passed on, for some reason?"""
    return (
        any(named[k] for k in GATE)
        and sum(1 for k in MOTIVES if named[k]) >= 1
        and not (
            # pass_on_phrase counts once: as the instruction or as the motive, not both
            sum(1 for k in GATE if named[k]) == 1
            and named["pass_on_phrase"]
            and sum(1 for k in MOTIVES if named[k]) == 1
        )
    )
